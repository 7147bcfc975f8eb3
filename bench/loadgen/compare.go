package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// summary is the load phase of one `loadgen room` run, as compare reads
// it back.
type summary struct {
	Label          string        `json:"label"`
	Clients        int           `json:"clients"`
	Posted         int           `json:"posted"`
	Deliveries     int64         `json:"deliveries"`
	DeliveryP50    time.Duration `json:"delivery_p50_ns"`
	DeliveryP99    time.Duration `json:"delivery_p99_ns"`
	DeliveryMax    time.Duration `json:"delivery_max_ns"`
	FanOutP50      time.Duration `json:"fanout_p50_ns"`
	FanOutP99      time.Duration `json:"fanout_p99_ns"`
	ServerCPU      time.Duration `json:"server_cpu_ns"`
	ServerCores    float64       `json:"server_cores"`
	GeneratorCores float64       `json:"generator_cores"`
	Lost           int64         `json:"lost"`
	Duplicated     int64         `json:"duplicated"`
	Dropped        int64         `json:"dropped"`
}

func (s summary) write(path string) error {
	raw, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, append(raw, '\n'), 0o644); err != nil {
		return fmt.Errorf("write the summary: %w", err)
	}
	return nil
}

func readSummary(path string) (summary, error) {
	var s summary
	raw, err := os.ReadFile(path)
	if err != nil {
		return s, fmt.Errorf("read a summary: %w", err)
	}
	if err := json.Unmarshal(raw, &s); err != nil {
		return s, fmt.Errorf("read the summary %s: %w", path, err)
	}
	return s, nil
}

// perDelivery is the server's CPU time per delivery.
func (s summary) perDelivery() time.Duration {
	if s.Deliveries == 0 {
		return 0
	}
	return s.ServerCPU / time.Duration(s.Deliveries)
}

// ratios are chatbox's figures divided by the floor's, from one pair of
// runs with the same clients.
type ratios struct {
	clients          int
	p50, p99, fanP99 float64
	cpu              float64 // CPU per delivery
}

func ratioOf(a, b time.Duration) float64 {
	if a <= 0 {
		return 0
	}
	return float64(b) / float64(a)
}

func pairRatios(floor, room summary) ratios {
	return ratios{
		clients: room.Clients,
		p50:     ratioOf(floor.DeliveryP50, room.DeliveryP50),
		p99:     ratioOf(floor.DeliveryP99, room.DeliveryP99),
		fanP99:  ratioOf(floor.FanOutP99, room.FanOutP99),
		cpu:     ratioOf(floor.perDelivery(), room.perDelivery()),
	}
}

// runCompare prints pairs of summaries (the floor's, then chatbox's with
// the same clients) side by side with their ratio, and, for a client
// count run more than once, the median of each ratio.
func runCompare(paths []string, out io.Writer) error {
	if len(paths) == 0 || len(paths)%2 != 0 {
		return errors.New("compare needs pairs of summaries: the floor's, then chatbox's")
	}
	w := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "clients\tserver\tdelivery p50\tp99\tfan-out p99\tcpu per delivery\tserver cores\tgenerator cores\tlost/dup/dropped\t")
	var all []ratios
	for i := 0; i < len(paths); i += 2 {
		floor, err := readSummary(paths[i])
		if err != nil {
			return err
		}
		room, err := readSummary(paths[i+1])
		if err != nil {
			return err
		}
		if floor.Clients != room.Clients {
			return fmt.Errorf("%s has %d clients and %s %d; pairs must match", paths[i], floor.Clients, paths[i+1], room.Clients)
		}
		for _, s := range []summary{floor, room} {
			fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%s\t%.2f µs\t%.3f\t%.3f\t%d/%d/%d\t\n", s.Clients, s.Label,
				ms(s.DeliveryP50), ms(s.DeliveryP99), ms(s.FanOutP99), us(s.perDelivery()),
				s.ServerCores, s.GeneratorCores, s.Lost, s.Duplicated, s.Dropped)
		}
		r := pairRatios(floor, room)
		all = append(all, r)
		fmt.Fprintf(w, "%d\tratio\t%.2f\t%.2f\t%.2f\t%.2f\t\t\t%s\t\n", r.clients, r.p50, r.p99, r.fanP99, r.cpu, incomplete(floor, room))
	}
	if err := w.Flush(); err != nil {
		return err
	}
	var counts []int
	for _, r := range all {
		if !slices.Contains(counts, r.clients) {
			counts = append(counts, r.clients)
		}
	}
	for _, n := range counts {
		var p50, p99, fan, cpu []float64
		for _, r := range all {
			if r.clients == n {
				p50, p99, fan, cpu = append(p50, r.p50), append(p99, r.p99), append(fan, r.fanP99), append(cpu, r.cpu)
			}
		}
		if len(p50) > 1 {
			fmt.Fprintf(out, "%d clients, median of %d pairs: ratio p50 %.2f, p99 %.2f, fan-out p99 %.2f, cpu per delivery %.2f\n",
				n, len(p50), median(p50), median(p99), median(fan), median(cpu))
		}
	}
	return nil
}

// incomplete warns when a run lost messages: its percentiles and CPU per
// delivery are then of the deliveries that made it in time, and the
// ratio compares unlike things.
func incomplete(floor, room summary) string {
	var out []string
	for _, s := range []summary{floor, room} {
		if s.Lost > 0 {
			out = append(out, fmt.Sprintf("%s incomplete", s.Label))
		}
	}
	return strings.Join(out, ", ")
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func us(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }
