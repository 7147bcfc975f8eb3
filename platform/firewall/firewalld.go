package firewall

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Zone is a firewalld zone as `firewall-cmd --list-all` shows it.
type Zone struct {
	Name     string
	Target   string
	Services []string
	Ports    []string // "8080/tcp", "60000-61000/udp"
}

// serviceTCP are the TCP ports of the firewalld services chatbox asks for.
var serviceTCP = map[string]int{"http": 80, "https": 443}

// ParseFirewalld reads the output of `firewall-cmd --list-all`: the
// zone's name on the first line, then "key: value" lines.
func ParseFirewalld(data []byte) (*Zone, error) {
	z := &Zone{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.TrimSpace(line) == "" {
			continue
		}
		if z.Name == "" && !strings.HasPrefix(line, " ") {
			z.Name = clean(strings.Fields(line)[0])
			continue
		}
		k, v, ok := strings.Cut(strings.TrimSpace(line), ":")
		if !ok {
			continue // a rich rule continues on its own line
		}
		switch k {
		case "target":
			z.Target = clean(strings.TrimSpace(v))
		case "services":
			z.Services = strings.Fields(v)
		case "ports":
			z.Ports = strings.Fields(v)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read firewalld's zone: %w", err)
	}
	if z.Name == "" || z.Target == "" {
		return nil, errors.New("read firewalld's zone: firewall-cmd --list-all printed no zone and target")
	}
	return z, nil
}

// State says what the zone does with new TCP connections to ports: open
// when its target is ACCEPT, or a service or a port of the zone is the
// port.
func (z *Zone) State(ports ...int) State {
	st := State{Firewall: "firewalld", Verdicts: verdicts(ports, z.verdict)}
	var fixes []string
	for _, v := range st.Closed() {
		fixes = append(fixes, fmt.Sprintf("--add-port=%d/tcp", v.Port))
	}
	if len(fixes) > 0 {
		st.Fix = fmt.Sprintf("firewall-cmd --permanent --zone=%s %s && firewall-cmd --reload", z.Name, strings.Join(fixes, " "))
	}
	return st
}

func (z *Zone) verdict(port int) Verdict {
	if z.Target == "ACCEPT" {
		return Verdict{Open: true, Why: "zone " + z.Name + " accepts everything"}
	}
	for _, s := range z.Services {
		if serviceTCP[s] == port {
			return Verdict{Open: true, Why: "service " + clean(s) + " of zone " + z.Name}
		}
	}
	for _, p := range z.Ports {
		spec, proto, _ := strings.Cut(p, "/")
		if proto != "tcp" {
			continue
		}
		lo, hi, isRange := strings.Cut(spec, "-")
		a, err1 := strconv.Atoi(lo)
		b, err2 := a, error(nil)
		if isRange {
			b, err2 = strconv.Atoi(hi)
		}
		if err1 == nil && err2 == nil && a <= port && port <= b {
			return Verdict{Open: true, Why: "port " + clean(p) + " of zone " + z.Name}
		}
	}
	return Verdict{Why: fmt.Sprintf("zone %s (target %s) has neither the service nor the port", z.Name, z.Target)}
}
