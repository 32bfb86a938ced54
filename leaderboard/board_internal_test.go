package leaderboard

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"testing"

	"github.com/pretrain/pretrain/chain"
)

func row(pairs ...int) []chain.WeightEntry {
	var r []chain.WeightEntry
	for i := 0; i+1 < len(pairs); i += 2 {
		r = append(r, chain.WeightEntry{UID: chain.UID(pairs[i]), Weight: uint16(pairs[i+1])})
	}
	return r
}

func TestCosine(t *testing.T) {
	for _, c := range []struct {
		name string
		x, y []chain.WeightEntry
		want float64 // NaN: undefined
	}{
		{"3-4 against 4-3 is 24/25", row(1, 3, 2, 4), row(1, 4, 2, 3), 24.0 / 25},
		{"proportional rows agree", row(1, 3, 2, 4), row(2, 8, 1, 6), 1},
		{"disjoint rows", row(1, 5), row(2, 5), 0},
		{"an all-zero row", row(1, 0), row(1, 5), math.NaN()},
		{"an empty row", nil, row(1, 5), math.NaN()},
	} {
		got := cosine(c.x, c.y, rowMap(c.y))
		switch {
		case math.IsNaN(c.want) && got != nil:
			t.Errorf("%s: cosine = %v, want undefined", c.name, *got)
		case !math.IsNaN(c.want) && (got == nil || math.Abs(*got-c.want) > 1e-15):
			t.Errorf("%s: cosine = %v, want %v", c.name, got, c.want)
		}
	}
}

func TestShare(t *testing.T) {
	r := row(2, 50000, 3, 15535)
	if got := share(r, 2); got != 50000.0/65535 {
		t.Errorf("share of uid 2 = %v, want 50000/65535", got)
	}
	if got := share(r, 4); got != 0 {
		t.Errorf("share of an absent uid = %v, want 0", got)
	}
	if got := share(row(1, 0), 1); got != 0 {
		t.Errorf("share in an all-zero row = %v, want 0", got)
	}
}

func TestLineChart(t *testing.T) {
	c := lineChart("t", "block", "loss", "nothing", []chartSeries{
		{Name: "a", Points: []chartPoint{{X: 10, Y: 3}, {X: 20, Y: 2}}},
		{Name: "b", Points: []chartPoint{{X: 15, Y: 2.5}}},
	})
	a := c.Series[0].Dots
	if a[0].X != c.Left || a[1].X != c.Right {
		t.Errorf("x of the first and last block = %v, %v, want the plot's edges %v, %v", a[0].X, a[1].X, c.Left, c.Right)
	}
	if !(a[0].Y > c.Top && a[1].Y < c.Bottom && a[1].Y > a[0].Y) {
		t.Errorf("y of losses 3 and 2 = %v, %v: want the higher loss higher on screen, inside (%v, %v)", a[0].Y, a[1].Y, c.Top, c.Bottom)
	}
	if b := c.Series[1].Dots[0]; b.X != (c.Left+c.Right)/2 || b.Y != (a[0].Y+a[1].Y)/2 {
		t.Errorf("the midpoint is drawn at %v, want halfway", b)
	}
	if c.Series[0].Points != strings.Join([]string{fmtXY(a[0]), fmtXY(a[1])}, " ") {
		t.Errorf("polyline points %q do not join the dots", c.Series[0].Points)
	}
	for _, tk := range c.XTicks {
		if tk.Pos < c.Left || tk.Pos > c.Right || strings.Contains(tk.Label, ".") {
			t.Errorf("x tick %+v: outside the plot or not a whole block", tk)
		}
	}
	if len(c.XTicks) < 2 || len(c.YTicks) < 2 {
		t.Errorf("ticks %v %v, want at least two on each axis", c.XTicks, c.YTicks)
	}
	if one := lineChart("t", "x", "y", "none", []chartSeries{{Points: []chartPoint{{X: 5, Y: 1}}}}); one.Empty != "" || len(one.Series[0].Dots) != 1 {
		t.Errorf("a single point is not drawn: %+v", one)
	}
	if empty := lineChart("t", "x", "y", "none", []chartSeries{{Name: "a"}}); empty.Empty != "none" {
		t.Errorf("a chart without points says %q, want the empty message", empty.Empty)
	}
}

func fmtXY(d Dot) string {
	return strconv.FormatFloat(d.X, 'f', -1, 64) + "," + strconv.FormatFloat(d.Y, 'f', -1, 64)
}

func TestThin(t *testing.T) {
	p := make([]chartPoint, 1000)
	for i := range p {
		p[i].X = float64(i)
	}
	if c := lineChart("t", "x", "y", "", []chartSeries{{Points: p}}); len(c.Series[0].Dots) != 0 || strings.Count(c.Series[0].Points, ",") != maxChartPoints {
		t.Errorf("a 1000-point series: %d dots and %d line points, want none and %d", len(c.Series[0].Dots), strings.Count(c.Series[0].Points, ","), maxChartPoints)
	}
	got := thin(p)
	if len(got) != maxChartPoints || got[0].X != 0 || got[len(got)-1].X != 999 {
		t.Errorf("thin(1000 points) = %d points from %v to %v, want %d from 0 to 999", len(got), got[0].X, got[len(got)-1].X, maxChartPoints)
	}
	for i := 1; i < len(got); i++ {
		if got[i].X <= got[i-1].X {
			t.Fatalf("thinned points out of order at %d", i)
		}
	}
}

// TestLineChartExtremes: losses a hostile step log may carry still lay out, without hanging
// on ticks or panicking.
func TestLineChartExtremes(t *testing.T) {
	for _, ys := range [][]float64{{-1e308, 1e308}, {1e308, 1e308}, {0, 5e-324}, {-math.MaxFloat64, 0}} {
		c := lineChart("t", "x", "y", "", []chartSeries{{Points: []chartPoint{{X: 0, Y: ys[0]}, {X: math.MaxInt64, Y: ys[1]}}}})
		if c.Empty != "" {
			continue // said instead of drawn
		}
		if len(c.XTicks) > 12 || len(c.YTicks) > 12 || len(c.Series[0].Dots) != 2 {
			t.Errorf("losses %v: %d x ticks, %d y ticks, %d dots", ys, len(c.XTicks), len(c.YTicks), len(c.Series[0].Dots))
		}
		if strings.Contains(fmt.Sprint(c), "NaN") || strings.Contains(fmt.Sprint(c), "Inf") {
			t.Errorf("losses %v: the layout has NaN or Inf: %+v", ys, c)
		}
	}
}
