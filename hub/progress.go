package hub

import (
	"fmt"
	"io"
)

// progress draws a one-line bar on a terminal: "download ns/name  12.3 / 45.6 MiB  27%".
// A nil *progress or one without a writer draws nothing.
type progress struct {
	w           io.Writer
	label       string
	done, total int64
	lastMiB     int64
}

func newProgress(w io.Writer, label string) *progress {
	return &progress{w: w, label: label, lastMiB: -1}
}

func (p *progress) add(n int64) {
	p.done += n
	if p.w == nil || p.done>>20 == p.lastMiB {
		return
	}
	p.lastMiB = p.done >> 20
	p.draw()
}

func (p *progress) draw() {
	pct := 100.0
	if p.total > 0 {
		pct = 100 * float64(p.done) / float64(p.total)
	}
	fmt.Fprintf(p.w, "\r%s  %.1f / %.1f MiB  %3.0f%%", p.label, float64(p.done)/(1<<20), float64(p.total)/(1<<20), pct)
}

func (p *progress) finish() {
	if p.w != nil {
		p.draw()
		fmt.Fprintln(p.w)
	}
}

// reader counts what passes through r.
func (p *progress) reader(r io.Reader) io.Reader { return &progressReader{r, p} }

type progressReader struct {
	r io.Reader
	p *progress
}

func (pr *progressReader) Read(b []byte) (int, error) {
	n, err := pr.r.Read(b)
	pr.p.add(int64(n))
	return n, err
}
