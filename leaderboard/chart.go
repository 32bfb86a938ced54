package leaderboard

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Chart is a line chart laid out for inline SVG: the pages draw it with plain elements, so it
// renders without JavaScript and scales with the page (viewBox).
type Chart struct {
	Title          string
	Width, Height  float64
	Left, Bottom   float64 // plot area edges in SVG units
	Right, Top     float64
	XLabel, YLabel string
	XTicks, YTicks []Tick
	Series         []Series
	// Empty says why nothing is drawn; charts without points show it instead of axes.
	Empty string
}

// Series is one line of a chart.
type Series struct {
	Name   string
	Color  string
	Points string // the polyline's "x,y x,y …"
	Dots   []Dot
}

// Dot is a data point, with the tooltip a browser shows for it.
type Dot struct {
	X, Y  float64
	Title string
}

// Tick is an axis tick at Pos (SVG units along its axis).
type Tick struct {
	Pos   float64
	Label string
}

// chartPoint is a data point before layout.
type chartPoint struct {
	X, Y  float64
	Title string
}

type chartSeries struct {
	Name   string
	Points []chartPoint
}

// maxChartPoints bounds the points drawn per series; longer histories are thinned evenly,
// always keeping the last point. Series of more than maxDots points are drawn as lines only,
// without a marker (and tooltip) per point, to keep pages small.
const (
	maxChartPoints = 300
	maxDots        = 60
)

var palette = []string{"#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2"}

// lineChart lays out series (x: block, y: loss) in a 640×240 box.
func lineChart(title, xLabel, yLabel, empty string, series []chartSeries) *Chart {
	c := &Chart{Title: title, Width: 640, Height: 240, Left: 64, Right: 628, Top: 12, Bottom: 200, XLabel: xLabel, YLabel: yLabel}
	minX, maxX, minY, maxY := math.Inf(1), math.Inf(-1), math.Inf(1), math.Inf(-1)
	for _, s := range series {
		for _, p := range s.Points {
			minX, maxX = math.Min(minX, p.X), math.Max(maxX, p.X)
			minY, maxY = math.Min(minY, p.Y), math.Max(maxY, p.Y)
		}
	}
	if math.IsInf(minX, 1) {
		c.Empty = empty
		return c
	}
	if maxX == minX {
		minX, maxX = minX-1, maxX+1
	}
	pad := (maxY - minY) * 0.08
	if pad == 0 {
		pad = math.Max(math.Abs(maxY)*0.01, 1e-3)
	}
	minY, maxY = minY-pad, maxY+pad
	if math.IsInf(maxY-minY, 0) || math.IsInf(maxX-minX, 0) {
		c.Empty = "the values are too far apart to draw"
		return c
	}
	sx := func(x float64) float64 { return c.Left + (x-minX)/(maxX-minX)*(c.Right-c.Left) }
	sy := func(y float64) float64 { return c.Bottom - (y-minY)/(maxY-minY)*(c.Bottom-c.Top) }
	for i, s := range series {
		out := Series{Name: s.Name, Color: palette[i%len(palette)]}
		var pts []string
		points := thin(s.Points)
		for _, p := range points {
			x, y := round2(sx(p.X)), round2(sy(p.Y))
			pts = append(pts, strconv.FormatFloat(x, 'f', -1, 64)+","+strconv.FormatFloat(y, 'f', -1, 64))
			if len(points) <= maxDots {
				out.Dots = append(out.Dots, Dot{x, y, p.Title})
			}
		}
		out.Points = strings.Join(pts, " ")
		c.Series = append(c.Series, out)
	}
	for _, v := range ticks(minX, maxX, true) {
		c.XTicks = append(c.XTicks, Tick{round2(sx(v)), strconv.FormatFloat(v, 'f', -1, 64)})
	}
	for _, v := range ticks(minY, maxY, false) {
		c.YTicks = append(c.YTicks, Tick{round2(sy(v)), tickLabel(v, maxY-minY)})
	}
	return c
}

func round2(v float64) float64 { return math.Round(v*100) / 100 }

func thin(p []chartPoint) []chartPoint {
	if len(p) <= maxChartPoints {
		return p
	}
	out := make([]chartPoint, 0, maxChartPoints)
	for i := range maxChartPoints - 1 {
		out = append(out, p[i*len(p)/(maxChartPoints-1)])
	}
	return append(out, p[len(p)-1])
}

// ticks are about five round values in [lo, hi]; integers only when integer is set.
func ticks(lo, hi float64, integer bool) []float64 {
	step := math.Pow(10, math.Floor(math.Log10((hi-lo)/5)))
	for _, m := range []float64{1, 2, 5, 10} {
		if (hi-lo)/(step*m) <= 6 {
			step *= m
			break
		}
	}
	if integer {
		step = math.Max(1, math.Round(step))
	}
	var out []float64
	for v := math.Ceil(lo/step) * step; v <= hi && len(out) < 12; v += step {
		out = append(out, v)
	}
	return out
}

// tickLabel prints v with enough decimals to tell ticks span apart.
func tickLabel(v, span float64) string {
	d := max(0, int(math.Ceil(-math.Log10(span/5)))+1)
	return fmt.Sprintf("%.*f", min(d, 8), v)
}
