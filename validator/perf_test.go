package validator

import (
	"encoding/json"
	"os"
	"strconv"
	"testing"
	"time"
)

// TestPerfMonitorTaoverse ports taoverse tests/utilities/test_perf_monitor.py.
func TestPerfMonitorTaoverse(t *testing.T) {
	for ns, want := range map[float64]string{1: "1.00 ns", 2500: "2.50 μs", 3e6: "3.00 ms", 1.23e9: "1.23 s", 1.2e11: "2.00 min", 0: "0.00 ns"} {
		if got := formatDuration(ns); got != want {
			t.Errorf("formatDuration(%v) = %q, want %q", ns, got, want)
		}
	}
	p := &PerfMonitor{Name: "TestOfTime"}
	if got := p.Summary(); got != "TestOfTime performance: N=0" {
		t.Errorf("empty Summary() = %q", got)
	}
	for _, s := range []time.Duration{1, 2, 3, 4} {
		p.Add(s * time.Second)
	}
	if p.Min() != 1 || p.Max() != 4 || p.Percentile(90) != 3.7 || p.Median() != 2.5 {
		t.Errorf("min/max/p90/median = %v %v %v %v, want 1 4 3.7 2.5", p.Min(), p.Max(), p.Percentile(90), p.Median())
	}
	if got, want := p.Summary(), "TestOfTime performance: N=4 | Min=1.00 s | Max=4.00 s | Median=2.50 s | P90=3.70 s"; got != want {
		t.Errorf("Summary() = %q, want %q", got, want)
	}
}

// TestPercentileNumpy compares with numpy.percentile (testdata/gen_perf.py).
func TestPercentileNumpy(t *testing.T) {
	raw, err := os.ReadFile("testdata/perf.json")
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		Cases []struct {
			SamplesNS []int64 `json:"samples_ns"`
			Q         float64
			Seconds   string
		}
	}
	if err := json.Unmarshal(raw, &v); err != nil || len(v.Cases) < 100 {
		t.Fatalf("vectors: %v", err)
	}
	for i, c := range v.Cases {
		p := &PerfMonitor{}
		for _, s := range c.SamplesNS {
			p.Add(time.Duration(s))
		}
		want, _ := strconv.ParseFloat(c.Seconds, 64)
		if got := p.Percentile(c.Q); got != want {
			t.Errorf("case %d: Percentile(%v) of %v = %v, want %v", i, c.Q, c.SamplesNS, got, want)
		}
	}
}
