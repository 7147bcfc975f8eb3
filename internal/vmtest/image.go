//go:build linux

package vmtest

import (
	"context"
	"crypto/sha256"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Release names a Debian release and architecture to build an image of.
type Release struct {
	// Name is how logs and cache directories call it: "debian13-amd64".
	Name string
	// Suite is the debootstrap suite: bookworm, trixie.
	Suite string
	// Arch is Debian's architecture name: amd64, arm64.
	Arch string
}

// Debian12 is Debian 12 (bookworm) for amd64.
func Debian12() Release { return Release{"debian12-amd64", "bookworm", "amd64"} }

// Debian13 is Debian 13 (trixie) for amd64.
func Debian13() Release { return Release{"debian13-amd64", "trixie", "amd64"} }

// Debian13ARM64 is Debian 13 (trixie) for arm64, as a Raspberry Pi runs.
func Debian13ARM64() Release { return Release{"debian13-arm64", "trixie", "arm64"} }

// Image is a built, cached Debian image: a raw ext4 root file system and
// the kernel and initramfs installed in it, booted directly by QEMU.
type Image struct {
	Release Release
	// Disk is the raw ext4 image; machines boot overlays of it, never it.
	Disk   string
	Kernel string
	Initrd string
}

// guestInit is the init of a short boot (BootInit): it mounts what a
// program needs and runs /init from the machine's second disk, an ext4
// file system of the test's making. The kernel, the driver and ext4 are the
// real ones; systemd, cloud-init and sshd are skipped, which makes a boot
// take seconds under emulation instead of a minute.
const guestInit = `#!/bin/sh
# vmtest's short boot: run /init of the second disk. Not for a real machine.
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mount -t tmpfs tmpfs /run
mount -t tmpfs tmpfs /tmp
mkdir -p /run/box
if ! mount -t ext4 /dev/vdb /run/box; then
	echo "vmtest-init: cannot mount /dev/vdb"
	exec /bin/sh
fi
ip link set lo up
for dev in /sys/class/net/e*; do
	dev=${dev##*/}
	ip link set "$dev" up
	ip addr add 10.0.2.15/24 dev "$dev"
	ip route add default via 10.0.2.2
	break
done
echo "vmtest-init: starting /run/box/init"
exec /run/box/init
`

// imageFiles are written into the tree after debootstrap.
func imageFiles(r Release, mirror string) map[string]string {
	return map[string]string{
		"etc/fstab":    "/dev/vda / ext4 rw,errors=remount-ro 0 1\n",
		"etc/hostname": "debian\n",
		"etc/hosts":    "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n",
		// The user-mode network has fixed addresses; no DHCP needed.
		"etc/systemd/network/10-vm.network": "[Match]\nName=en* eth*\n\n[Network]\nAddress=10.0.2.15/24\nGateway=10.0.2.2\n",
		// No name server answers: the guest reaches only its forwards.
		"etc/resolv.conf": "# vmtest: no name server; the machine reaches only its forwards\n",
		"etc/cloud/cloud.cfg.d/90-vmtest.cfg": "datasource_list: [NoCloud, None]\n" +
			"network: {config: disabled}\n" +
			"# The image's host keys are kept: regenerating them costs a minute under emulation.\n" +
			"ssh_deletekeys: false\n" +
			"disable_root: false\n",
		"etc/apt/sources.list": fmt.Sprintf("deb %s %s main\n", mirror, r.Suite),
		// apt asks the host's apt-cacher-ng, forwarded to this address.
		"etc/apt/apt.conf.d/01vmtest-proxy":      fmt.Sprintf("Acquire::http::Proxy \"http://%s/\";\n", AptProxyGuestAddr),
		"etc/machine-id":                         "",
		"usr/local/sbin/vmtest-init":             guestInit,
		"etc/systemd/system/vmtest-diag.service": diagUnit,
	}
}

// diagUnit prints, on the console at the end of every boot, what a
// machine that does not answer over SSH cannot say: its addresses, its
// listeners, sshd's state and the failed units. The test logs the console
// when it fails.
const diagUnit = `[Unit]
Description=vmtest: the network, the listeners and sshd, on the console
After=multi-user.target ssh.service

[Service]
Type=oneshot
StandardOutput=journal+console
ExecStart=/bin/sh -c 'echo "==== vmtest-diag"; ip -br addr; ss -Htlnp; echo "ssh: $(systemctl is-active ssh)"; systemctl --failed --no-legend --plain; echo "==== vmtest-diag end"'

[Install]
WantedBy=multi-user.target
`

// AptProxyGuestAddr is where the guest reaches the host's apt proxy.
const AptProxyGuestAddr = "10.0.2.100:3142"

// imageBase is what debootstrap installs; imagePackages what apt then
// installs in the tree (debootstrap's own resolver does not follow the
// virtual packages cloud-init's dependencies need).
func imageBase() []string {
	return []string{"systemd", "systemd-sysv", "dbus", "libpam-systemd", "ca-certificates", "iproute2"}
}

func imagePackages(r Release) []string {
	kernel := "linux-image-cloud-" + r.Arch
	if r.Arch == "arm64" && r.Suite == "bookworm" {
		kernel = "linux-image-arm64"
	}
	// e2fsprogs: cloud-init grows the root file system with resize2fs at
	// every boot, as on a provider's image, and fails its stage without it.
	// ufw, off, as some providers' images have it: the walk-through's
	// owner turns it on (installing it there took 1½ minutes per machine
	// under emulation).
	pkgs := []string{kernel, "initramfs-tools", "openssh-server", "cloud-init", "python3", "e2fsprogs", "ufw"}
	if r.Suite == "bookworm" {
		// Debian 12's cloud-init (22.4) sets the locale en_US.UTF-8 at the
		// first boot and fails its config stage when update-locale cannot:
		// a provider's image has that locale made (imageDebconf); 13's
		// cloud-init leaves the locale alone.
		pkgs = append(pkgs, "locales")
	}
	return pkgs
}

// imageDebconf is what the image's debconf is told before its packages
// are installed, as a provider's image build answers it.
func imageDebconf(r Release) string {
	if r.Suite != "bookworm" {
		return ""
	}
	return "locales locales/locales_to_be_generated multiselect en_US.UTF-8 UTF-8\n" +
		"locales locales/default_environment_locale select en_US.UTF-8\n"
}

// imageRecipe is bumped when the way an image is made changes in a way
// its inputs below do not show.
const imageRecipe = "3"

// Image returns the image of r, building it (a few minutes) when the
// cache has none made from the same inputs.
func (e *Env) Image(ctx context.Context, t *testing.T, r Release) *Image {
	t.Helper()
	files := imageFiles(r, e.Mirror)
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	h := sha256.New()
	fmt.Fprintf(h, "%s\n%s\n%s\n%s\n%s\n%s\n", imageRecipe, r.Suite, r.Arch, strings.Join(imageBase(), ","), strings.Join(imagePackages(r), ","), e.Mirror)
	if d := imageDebconf(r); d != "" {
		fmt.Fprintf(h, "debconf\n%s", d)
	}
	for _, n := range names {
		fmt.Fprintf(h, "%s\n%d\n%s", n, len(files[n]), files[n])
	}
	dir := filepath.Join(e.Cache, fmt.Sprintf("vm-image-%s-%x", r.Name, h.Sum(nil)[:6]))
	img := &Image{Release: r, Disk: filepath.Join(dir, "root.raw"), Kernel: filepath.Join(dir, "vmlinuz"), Initrd: filepath.Join(dir, "initrd.img")}
	if _, err := os.Stat(filepath.Join(dir, ".complete")); err == nil {
		t.Logf("image %s: cached in %s", r.Name, dir)
		return img
	}
	done := Step(t, "build image "+r.Name)
	defer done()
	tmp := dir + ".tmp"
	os.RemoveAll(tmp)
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(tmp)
	tree := filepath.Join(tmp, "tree")
	args := []string{"--variant=minbase", "--include=" + strings.Join(imageBase(), ",")}
	if r.Arch != runtime.GOARCH {
		if err := runForeign(r.Arch); err != nil {
			t.Fatalf("image %s: %v", r.Name, err)
		}
		args = append(args, "--arch="+r.Arch)
	}
	args = append(args, r.Suite, tree, e.Proxy.URL(e.Mirror))
	start := time.Now()
	if out, err := command(ctx, "/usr/sbin/debootstrap", args...).CombinedOutput(); err != nil {
		log, _ := os.ReadFile(filepath.Join(tree, "debootstrap", "debootstrap.log"))
		t.Fatalf("debootstrap %s: %v\n%s\n%s", r.Name, err, lastLines(string(out), 20), lastLines(string(log), 20))
	}
	t.Logf("image %s: debootstrap took %s", r.Name, time.Since(start).Round(time.Second))
	for _, n := range names {
		p := filepath.Join(tree, n)
		os.Remove(p) // resolv.conf may be a link into /run
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		mode := os.FileMode(0o644)
		if strings.Contains(n, "/sbin/") {
			mode = 0o755
		}
		if err := os.WriteFile(p, []byte(files[n]), mode); err != nil {
			t.Fatal(err)
		}
	}
	os.Remove(filepath.Join(tree, "var/lib/dbus/machine-id"))
	// apt in the tree, through the host's proxy; a private mount namespace
	// gives it a /proc that goes away with it.
	proxy := fmt.Sprintf("Acquire::http::Proxy=http://127.0.0.1:%d/", e.Proxy.Port)
	script := "mount -t proc proc /proc && export DEBIAN_FRONTEND=noninteractive && "
	if d := imageDebconf(r); d != "" {
		script += "printf '" + d + "' | debconf-set-selections && "
	}
	script += "apt-get -q -o " + proxy + " update && " +
		"apt-get -q -y -o " + proxy + " install --no-install-recommends " + strings.Join(imagePackages(r), " ") + " && apt-get clean"
	aptStart := time.Now()
	if out, err := command(ctx, "unshare", "--mount", "--fork", "chroot", tree, "sh", "-c", script).CombinedOutput(); err != nil {
		t.Fatalf("image %s: apt-get install in the tree: %v\n%s", r.Name, err, lastLines(string(out), 30))
	}
	t.Logf("image %s: apt-get install took %s", r.Name, time.Since(aptStart).Round(time.Second))
	if out, err := command(ctx, "chroot", tree, "systemctl", "enable", "systemd-networkd", "vmtest-diag").CombinedOutput(); err != nil {
		t.Fatalf("enable systemd-networkd in the image: %v\n%s", err, out)
	}
	// Nothing for systemd's first-boot updates (ConditionNeedsUpdate) to do.
	for _, p := range []string{"etc/.updated", "var/.updated"} {
		if err := os.WriteFile(filepath.Join(tree, p), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// The kernel and initramfs are booted directly, so they live beside the disk.
	for dst, pattern := range map[string]string{"vmlinuz": "boot/vmlinuz-*", "initrd.img": "boot/initrd.img-*"} {
		found, _ := filepath.Glob(filepath.Join(tree, pattern))
		if len(found) != 1 {
			t.Fatalf("image %s: want one %s, found %q", r.Name, pattern, found)
		}
		if out, err := command(ctx, "cp", found[0], filepath.Join(tmp, dst)).CombinedOutput(); err != nil {
			t.Fatalf("copy %s: %v\n%s", found[0], err, out)
		}
	}
	// mkfs.ext4 -d makes the file system straight from the tree: no loop
	// device, no mount. The file is sparse; 4 GiB leaves room to install.
	if out, err := command(ctx, "/usr/sbin/mkfs.ext4", "-q", "-F", "-L", "root", "-d", tree, filepath.Join(tmp, "root.raw"), "4G").CombinedOutput(); err != nil {
		t.Fatalf("mkfs.ext4 -d: %v\n%s", err, out)
	}
	if err := os.RemoveAll(tree); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(tmp, ".complete"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	os.RemoveAll(dir)
	if err := os.Rename(tmp, dir); err != nil {
		t.Fatal(err)
	}
	t.Logf("image %s: built in %s, cached in %s", r.Name, time.Since(start).Round(time.Second), dir)
	return img
}

// command is exec.CommandContext that kills the process group when ctx
// ends, so a debootstrap's children do not outlive the test.
func command(ctx context.Context, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	return cmd
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
