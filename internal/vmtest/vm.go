//go:build linux

package vmtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

// Options describe one machine.
type Options struct {
	// Hostname is the name the NoCloud seed gives the machine.
	Hostname string
	// UserData is more cloud-config, appended to the seed's (which
	// authorizes the Env's SSH key for root).
	UserData string
	// GuestForwards are the host services the guest may reach, beyond the
	// apt proxy.
	GuestForwards []GuestForward
	// MemoryMiB and CPUs default to 1024 and 2.
	MemoryMiB, CPUs int
	// SSHPort, HTTPPort and HTTPSPort are the host loopback ports for the
	// guest's 22, 80 and 443; 0 picks a free one.
	SSHPort, HTTPPort, HTTPSPort int
	// ExtraPorts are more guest TCP ports forwarded from host loopback; VM.Ports
	// tells where.
	ExtraPorts []int
}

// GuestForward lets the guest reach one host address.
type GuestForward struct {
	// Guest is the address the guest connects to, in 10.0.2.0/24 (not
	// .2, .3 or .15, which the user-mode network uses).
	Guest string
	// Host is the address on the host it is joined to.
	Host string
}

// VM is a running (or killed) QEMU machine.
type VM struct {
	// Name names it in logs.
	Name string
	// SSHPort, HTTPPort and HTTPSPort are host loopback ports forwarded to
	// the guest's 22, 80 and 443.
	SSHPort, HTTPPort, HTTPSPort int
	// Ports maps each of Options.ExtraPorts to its host loopback port.
	Ports map[int]int

	env     *Env
	img     *Image
	t       *testing.T
	dir     string
	args    []string
	console string

	cmd    *exec.Cmd
	exited chan struct{}
	client *ssh.Client
}

// Boot starts a fresh machine from a copy-on-write overlay of img, seeded
// by cloud-init with opts, and waits until systemd has finished booting
// and root answers over SSH. The machine is killed when the test ends.
func (e *Env) Boot(ctx context.Context, t *testing.T, img *Image, opts Options) *VM {
	t.Helper()
	vm := e.newVM(t, img, opts.Hostname, opts)
	seed := filepath.Join(vm.dir, "seed.iso")
	if err := writeSeed(ctx, vm.dir, seed, opts.Hostname, e.key.authorized, opts.UserData); err != nil {
		t.Fatal(err)
	}
	overlay := filepath.Join(vm.dir, "root.qcow2")
	if out, err := command(ctx, "qemu-img", "create", "-q", "-f", "qcow2", "-F", "raw", "-b", img.Disk, overlay).CombinedOutput(); err != nil {
		t.Fatalf("qemu-img create: %v\n%s", err, out)
	}
	vm.args = append(vm.machineArgs(ctx, opts, "root=/dev/vda rw"),
		// writeback honours the guest's flushes (as does none); never unsafe.
		"-drive", "file="+overlay+",format=qcow2,if=virtio,cache=writeback",
		"-drive", "file="+seed+",format=raw,if=virtio,readonly=on")
	done := Step(t, "boot "+vm.Name)
	if err := vm.Start(); err != nil {
		t.Fatal(err)
	}
	// Emulated and niced, a full boot took 1½ minutes at load average 5
	// and did not reach sshd in 10 at 50; the bound is for the busy case.
	if err := vm.WaitBooted(ctx, 20*time.Minute); err != nil {
		t.Fatalf("%v\nconsole:\n%s", err, lastLines(vm.Console(), 40))
	}
	done()
	return vm
}

// BootInit starts a machine that skips systemd: the kernel mounts img's
// root read-only and runs /init from data, a raw ext4 image the test made
// (see NewDataDisk), which is the machine's /dev/vdb, mounted at /run/box.
// It returns once QEMU runs; the test waits for what /init starts.
func (e *Env) BootInit(ctx context.Context, t *testing.T, img *Image, data, name string, opts Options) *VM {
	t.Helper()
	vm := e.newVM(t, img, name, opts)
	vm.args = append(vm.machineArgs(ctx, opts, "root=/dev/vda ro init=/usr/local/sbin/vmtest-init"),
		"-drive", "file="+img.Disk+",format=raw,if=virtio,readonly=on",
		// writeback honours the guest's flushes (as does none); never unsafe.
		"-drive", "file="+data+",format=raw,if=virtio,cache=writeback")
	if err := vm.Start(); err != nil {
		t.Fatal(err)
	}
	return vm
}

// NewDataDisk makes a raw ext4 image of size (as mkfs.ext4 reads it,
// "512M") holding the files of dir.
func NewDataDisk(ctx context.Context, path, dir, size string) error {
	if out, err := command(ctx, "/usr/sbin/mkfs.ext4", "-q", "-F", "-L", "box", "-d", dir, path, size).CombinedOutput(); err != nil {
		return fmt.Errorf("mkfs.ext4 -d %s: %v\n%s", dir, err, out)
	}
	return nil
}

func (e *Env) newVM(t *testing.T, img *Image, name string, opts Options) *VM {
	t.Helper()
	vm := &VM{Name: name + " (" + img.Release.Name + ")", env: e, img: img, t: t, dir: t.TempDir(),
		SSHPort: opts.SSHPort, HTTPPort: opts.HTTPPort, HTTPSPort: opts.HTTPSPort, Ports: map[int]int{}}
	vm.console = filepath.Join(vm.dir, "console.log")
	// Every forward needs a port of its own: they are chosen together.
	var need []*int
	for _, p := range []*int{&vm.SSHPort, &vm.HTTPPort, &vm.HTTPSPort} {
		if *p == 0 {
			need = append(need, p)
		}
	}
	extra := make([]int, len(opts.ExtraPorts))
	for i := range extra {
		need = append(need, &extra[i])
	}
	ports, err := FreePorts(len(need))
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range need {
		*p = ports[i]
	}
	for i, g := range opts.ExtraPorts {
		vm.Ports[g] = extra[i]
	}
	t.Cleanup(func() {
		vm.Kill()
		if t.Failed() {
			t.Logf("%s console (last lines):\n%s", vm.Name, lastLines(vm.Console(), 30))
		}
	})
	return vm
}

// machineArgs are QEMU's arguments for everything but the disks.
func (vm *VM) machineArgs(ctx context.Context, opts Options, cmdline string) []string {
	mem, cpus := opts.MemoryMiB, opts.CPUs
	if mem == 0 {
		mem = 1024
	}
	if cpus == 0 {
		cpus = 2
	}
	e := vm.env
	nic := fmt.Sprintf("user,model=virtio-net-pci,restrict=on,hostfwd=tcp:127.0.0.1:%d-:22,hostfwd=tcp:127.0.0.1:%d-:80,hostfwd=tcp:127.0.0.1:%d-:443",
		vm.SSHPort, vm.HTTPPort, vm.HTTPSPort)
	for g, h := range vm.Ports {
		nic += fmt.Sprintf(",hostfwd=tcp:127.0.0.1:%d-:%d", h, g)
	}
	fwds := append([]GuestForward{{Guest: AptProxyGuestAddr, Host: fmt.Sprintf("127.0.0.1:%d", e.Proxy.Port)}}, opts.GuestForwards...)
	for _, f := range fwds {
		nic += fmt.Sprintf(",guestfwd=tcp:%s-cmd:%s %s", f.Guest, e.relay, f.Host)
	}
	console, machine := "ttyS0", []string{"qemu-system-x86_64"}
	if vm.img.Release.Arch == "arm64" {
		console, machine = "ttyAMA0", []string{"qemu-system-aarch64", "-M", "virt", "-cpu", "max"}
	} else if e.Accel(ctx, vm.img) == "tcg" {
		machine = append(machine, "-cpu", "max")
	} else {
		machine = append(machine, "-cpu", "host")
	}
	return append(machine,
		"-accel", e.Accel(ctx, vm.img), "-m", fmt.Sprint(mem), "-smp", fmt.Sprint(cpus),
		"-nodefaults", "-no-user-config", "-display", "none",
		"-chardev", "file,id=console,path="+vm.console+",append=on", "-serial", "chardev:console",
		"-device", "virtio-rng-pci",
		"-kernel", vm.img.Kernel, "-initrd", vm.img.Initrd,
		"-append", "console="+console+" "+cmdline+" panic=-1",
		"-nic", nic)
}

// Start starts QEMU on the machine's disks as they are now: the first boot,
// or a boot after a power cut.
func (vm *VM) Start() error {
	if vm.cmd != nil {
		select {
		case <-vm.exited:
		default:
			return fmt.Errorf("%s is still running", vm.Name)
		}
	}
	if vm.client != nil {
		vm.client.Close()
		vm.client = nil
	}
	fmt.Fprintf(vm.consoleFile(), "\n==== vmtest: power on at %s ====\n", time.Now().Format(time.TimeOnly))
	cmd := niceCommand(vm.args[0], vm.args[1:]...)
	var stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stderr, &stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", vm.args[0], err)
	}
	vm.cmd, vm.exited = cmd, make(chan struct{})
	exited := vm.exited
	go func() {
		cmd.Wait()
		if s := stderr.String(); s != "" {
			fmt.Fprintf(vm.consoleFile(), "\n==== vmtest: qemu said: %s\n", s)
		}
		close(exited)
	}()
	return nil
}

func (vm *VM) consoleFile() *os.File {
	f, err := os.OpenFile(vm.console, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return os.Stderr
	}
	vm.t.Cleanup(func() { f.Close() })
	return f
}

// Console returns everything the machine printed on its serial console,
// across all its boots.
func (vm *VM) Console() string {
	data, _ := os.ReadFile(vm.console)
	return string(data)
}

// Running reports whether QEMU is running.
func (vm *VM) Running() bool {
	if vm.cmd == nil {
		return false
	}
	select {
	case <-vm.exited:
		return false
	default:
		return true
	}
}

// Kill cuts the power: QEMU gets SIGKILL, so whatever the guest had not
// flushed to its disk is lost.
func (vm *VM) Kill() {
	if vm.client != nil {
		vm.client.Close()
		vm.client = nil
	}
	if vm.Running() {
		vm.cmd.Process.Kill()
		<-vm.exited
	}
}

// WaitBooted waits, at most limit, until root answers over SSH and
// systemd reports the boot finished (running, or degraded: the failed
// units are logged).
func (vm *VM) WaitBooted(ctx context.Context, limit time.Duration) error {
	start := time.Now()
	err := WaitFor(ctx, vm.Name+" to answer over SSH", limit, time.Second, func(ctx context.Context) (bool, error) {
		if !vm.Running() {
			return false, Hopeless(errors.New("QEMU exited"))
		}
		c, err := vm.env.key.dial(ctx, vm.SSHPort)
		if err != nil {
			return false, err
		}
		vm.client = c
		return true, nil
	})
	if err != nil {
		return err
	}
	// sshd answers before the boot is over (cloud-init's last stages run
	// after it); the rest of limit bounds the wait for the end of the boot.
	wait := time.Until(start.Add(limit)).Round(time.Second)
	if wait < 30*time.Second {
		wait = 30 * time.Second
	}
	// Polled rather than `is-system-running --wait`, which once answered
	// nothing with status 1 while no job was left (a loaded machine, the
	// boot's end); a state other than starting ends the wait.
	var state string
	err = WaitFor(ctx, vm.Name+" to finish booting (systemctl is-system-running)", wait, 2*time.Second, func(ctx context.Context) (bool, error) {
		if vm.client == nil {
			c, err := vm.env.key.dial(ctx, vm.SSHPort)
			if err != nil {
				return false, err
			}
			vm.client = c
		}
		rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		out, err := vm.Run(rctx, "systemctl is-system-running")
		var exit *ssh.ExitError
		if err != nil && !errors.As(err, &exit) {
			// Not an answer but a lost connection: the sshd that answered
			// the dial was the old boot's, just before a reboot took it
			// away. Polling that connection would fail until the wait ran
			// out (it did, for 15 minutes); dial again.
			vm.client.Close()
			vm.client = nil
			return false, fmt.Errorf("the connection: %w", err)
		}
		state = out
		switch out {
		case "initializing", "starting", "":
			return false, fmt.Errorf("state %q (%v)", out, err)
		}
		return true, nil
	})
	switch state {
	case "running":
		return nil
	case "degraded":
		failed, _ := vm.Run(ctx, "systemctl --failed --no-legend --plain")
		if bad := unexpectedFailures(failed); len(bad) > 0 {
			status, _ := vm.Run(ctx, "systemctl status --no-pager --lines=15 "+strings.Join(bad, " "))
			if strings.Contains(failed, "cloud-") {
				// The unit says only that a stage exited non-zero; cloud-init says why.
				ci, _ := vm.Run(ctx, "cloud-init status --long; grep -E 'WARNING|ERROR|Traceback|Error' /var/log/cloud-init.log | tail -40")
				status += "\ncloud-init:\n" + ci
			}
			return fmt.Errorf("%s booted degraded: units failed that the image should not fail:\n%s\n%s", vm.Name, failed, status)
		}
		vm.t.Logf("%s booted degraded; its failed units are known to be harmless here:\n%s", vm.Name, failed)
		return nil
	}
	// Still starting (or stopping) when the wait ran out: say which jobs
	// the boot was waiting for.
	jobs, _ := vm.Run(ctx, "systemctl list-jobs --no-legend --plain; systemctl --failed --no-legend --plain")
	return fmt.Errorf("%s: after %s, systemctl is-system-running says %q (%v); jobs and failed units:\n%s", vm.Name, wait, state, err, jobs)
}

// harmlessFailure says why unit may fail on a test machine without saying
// anything about the machine chatbox runs on, or "" when it may not.
func harmlessFailure(unit string) string {
	switch unit {
	}
	return ""
}

// unexpectedFailures returns the units of `systemctl --failed --plain`'s
// output that harmlessFailure does not excuse.
func unexpectedFailures(failed string) []string {
	var bad []string
	for _, line := range strings.Split(failed, "\n") {
		f := strings.Fields(line)
		if len(f) > 0 && harmlessFailure(f[0]) == "" {
			bad = append(bad, f[0])
		}
	}
	return bad
}

// Run runs a shell command line as root in the guest, over SSH, and
// returns its combined output, trimmed.
func (vm *VM) Run(ctx context.Context, cmd string) (string, error) {
	if vm.client == nil {
		return "", fmt.Errorf("%s: not connected over SSH", vm.Name)
	}
	return run(ctx, vm.client, cmd)
}

// MustRun is Run that fails the test when the command fails.
func (vm *VM) MustRun(ctx context.Context, t *testing.T, cmd string) string {
	t.Helper()
	out, err := vm.Run(ctx, cmd)
	if err != nil {
		t.Fatalf("%s: %s: %v\n%s", vm.Name, cmd, err, out)
	}
	return out
}

// Reboot reboots the guest from inside and waits, at most limit, until it
// is booted again with a new boot id.
func (vm *VM) Reboot(ctx context.Context, t *testing.T, limit time.Duration) {
	t.Helper()
	before := vm.MustRun(ctx, t, "cat /proc/sys/kernel/random/boot_id")
	if before == "" {
		t.Fatalf("%s: no boot id to tell the next boot by", vm.Name)
	}
	vm.Run(ctx, "systemctl reboot")
	vm.client.Close()
	vm.client = nil
	// The old boot's sshd may answer for a moment; wait for the new boot id.
	err := WaitFor(ctx, vm.Name+" to come back with a new boot id", limit, 2*time.Second, func(ctx context.Context) (bool, error) {
		if err := vm.WaitBooted(ctx, limit); err != nil {
			return false, err
		}
		now, err := vm.Run(ctx, "cat /proc/sys/kernel/random/boot_id")
		if err != nil || now == "" || now == before {
			vm.client.Close()
			vm.client = nil
			return false, fmt.Errorf("boot id %q (%v)", now, err)
		}
		return true, nil
	})
	if err != nil {
		t.Fatalf("%v\nconsole:\n%s", err, lastLines(vm.Console(), 40))
	}
}

// Copy writes data to path in the guest with mode, over SSH.
func (vm *VM) Copy(ctx context.Context, data []byte, path string, mode os.FileMode) error {
	s, err := vm.client.NewSession()
	if err != nil {
		return err
	}
	defer s.Close()
	s.Stdin = strings.NewReader(string(data))
	if out, err := s.CombinedOutput(fmt.Sprintf("cat > %s.tmp && chmod %o %s.tmp && mv %s.tmp %s", path, mode, path, path, path)); err != nil {
		return fmt.Errorf("copy to %s: %v: %s", path, err, out)
	}
	return nil
}

// writeSeed makes the NoCloud seed: an ISO 9660 image labelled cidata
// with meta-data and user-data, as a VPS provider attaches one.
func writeSeed(ctx context.Context, dir, iso, hostname, key, userData string) error {
	src := filepath.Join(dir, "seed")
	if err := os.MkdirAll(src, 0o755); err != nil {
		return err
	}
	id := make([]byte, 8)
	rand.Read(id)
	meta := fmt.Sprintf("instance-id: vmtest-%s\nlocal-hostname: %s\n", hex.EncodeToString(id), hostname)
	user := fmt.Sprintf("#cloud-config\nssh_authorized_keys:\n  - %s\n%s", key, userData)
	if err := os.WriteFile(filepath.Join(src, "meta-data"), []byte(meta), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(src, "user-data"), []byte(user), 0o644); err != nil {
		return err
	}
	if out, err := command(ctx, "genisoimage", "-quiet", "-output", iso, "-volid", "cidata", "-joliet", "-rock",
		filepath.Join(src, "meta-data"), filepath.Join(src, "user-data")).CombinedOutput(); err != nil {
		return fmt.Errorf("genisoimage: %v\n%s", err, out)
	}
	return nil
}
