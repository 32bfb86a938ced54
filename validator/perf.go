package validator

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

// PerfMonitor collects durations of one operation (loading a model, computing its loss, loading
// data) for the step's log, as taoverse's PerfMonitor. The caller measures; the monitor only
// summarizes. It is not safe for concurrent use.
type PerfMonitor struct {
	Name    string
	samples []time.Duration
}

// Add records one duration.
func (p *PerfMonitor) Add(d time.Duration) { p.samples = append(p.samples, d) }

// N is the number of samples.
func (p *PerfMonitor) N() int { return len(p.samples) }

// Min, Max, Median and Percentile return seconds, or 0 with no samples.
func (p *PerfMonitor) Min() float64    { return p.Percentile(0) }
func (p *PerfMonitor) Max() float64    { return p.Percentile(100) }
func (p *PerfMonitor) Median() float64 { return p.Percentile(50) }

// Percentile is numpy.percentile's default (linear) method over the samples, in seconds.
func (p *PerfMonitor) Percentile(q float64) float64 {
	if len(p.samples) == 0 {
		return 0
	}
	return p.percentileNS(q) / 1e9
}

func (p *PerfMonitor) percentileNS(q float64) float64 {
	s := make([]float64, len(p.samples))
	for i, d := range p.samples {
		s[i] = float64(d.Nanoseconds())
	}
	slices.Sort(s)
	idx := q / 100 * float64(len(s)-1)
	lo := math.Floor(idx)
	hi := min(lo+1, float64(len(s)-1))
	a, b, t := s[int(lo)], s[int(hi)], idx-lo
	// numpy's _lerp: interpolate from the nearer end, so t=1 gives exactly b.
	if t >= 0.5 {
		return b - (b-a)*(1-t)
	}
	return a + (b-a)*t
}

// Summary is the one-line form the validator logs after a step.
func (p *PerfMonitor) Summary() string {
	if len(p.samples) == 0 {
		return p.Name + " performance: N=0"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s performance: N=%d | Min=%s | Max=%s | Median=%s | P90=%s", p.Name, len(p.samples),
		formatDuration(p.percentileNS(0)), formatDuration(p.percentileNS(100)),
		formatDuration(p.percentileNS(50)), formatDuration(p.percentileNS(90)))
	return b.String()
}

// formatDuration writes nanoseconds in the largest unit they reach, with two decimals.
func formatDuration(ns float64) string {
	units := []struct {
		name string
		div  float64
	}{{"min", 60e9}, {"s", 1e9}, {"ms", 1e6}, {"μs", 1e3}, {"ns", 1}}
	for _, u := range units {
		if ns >= u.div {
			return fmt.Sprintf("%.2f %s", ns/u.div, u.name)
		}
	}
	return fmt.Sprintf("%.2f ns", ns)
}

// summary returns the monitor's figures in seconds for the step log.
func (p *PerfMonitor) summary() Summary {
	if p.N() == 0 {
		return Summary{}
	}
	return Summary{N: p.N(), Min: p.Min(), Median: p.Median(), Max: p.Max(), P90: p.Percentile(90)}
}
