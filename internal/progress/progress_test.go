package progress

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// fakeClock advances only when told.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }

func TestPlainLines(t *testing.T) {
	var out bytes.Buffer
	clk := &fakeClock{t: time.Unix(1000, 0)}
	b := newBar(&out, Options{Label: "eval", Total: 10, Unit: "batches"}, false, clk.now)
	b.Add(1) // before the interval: no line
	if out.Len() != 0 {
		t.Fatalf("line before the interval: %q", out.String())
	}
	clk.t = clk.t.Add(10 * time.Second)
	b.Add(1) // 2 done in 10 s: 0.2/s, 8 left: eta 40 s
	b.Describe("loss 4.5")
	clk.t = clk.t.Add(5 * time.Second)
	b.Set(3) // within the interval of the last line: no line
	clk.t = clk.t.Add(5 * time.Second)
	b.Set(10)
	b.Finish()
	b.Finish()
	got := strings.Split(strings.TrimSpace(out.String()), "\n")
	want := []string{
		"eval: 2/10 batches (20%), 0.2 batches/s, eta 40s",
		"eval: 10/10 batches (100%), 0.5 batches/s, loss 4.5",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("lines =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestPlainBytesGrowingTotal(t *testing.T) {
	var out bytes.Buffer
	clk := &fakeClock{t: time.Unix(0, 0)}
	b := newBar(&out, Options{Label: "download a/b", Bytes: true, Interval: time.Second}, false, clk.now)
	b.AddTotal(4 << 20)
	clk.t = clk.t.Add(2 * time.Second)
	b.Add(1 << 20)
	if got, want := strings.TrimSpace(out.String()), "download a/b: 1.0/4.0 MiB (25%), 0.50 MiB/s, eta 6s"; got != want {
		t.Errorf("line = %q, want %q", got, want)
	}
}

func TestTerminalBarShowsRateAndETA(t *testing.T) {
	var out bytes.Buffer
	clk := &fakeClock{t: time.Now()}
	b := newBar(&out, Options{Label: "eval", Total: 4, Unit: "batches"}, true, clk.now)
	b.Set(4)
	b.Finish()
	s := out.String()
	for _, want := range []string{"eval", "4/4", "batches/s", "100%"} {
		if !strings.Contains(s, want) {
			t.Errorf("terminal bar %q lacks %q", s, want)
		}
	}
	if !strings.HasSuffix(s, "\n") {
		t.Errorf("terminal bar does not end its line: %q", s)
	}
}

func TestNilBar(t *testing.T) {
	b := New(nil, Options{})
	b.Add(1)
	b.Set(2)
	b.AddTotal(3)
	b.Describe("x")
	b.Finish()
	if IsTerminal(&bytes.Buffer{}) {
		t.Error("a buffer is not a terminal")
	}
}
