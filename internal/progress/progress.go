// Package progress shows how far a long task (a download, an evaluation, a training run) has
// come: on a terminal an animated bar with rate and ETA (github.com/schollz/progressbar),
// elsewhere (a log file, a pipe) a plain line now and then, so logs stay readable.
package progress

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
)

// DefaultInterval is the least time between two plain lines.
const DefaultInterval = 10 * time.Second

// Options describe a bar.
type Options struct {
	Label string // what is measured, e.g. "download ns/name"
	Total int64  // amount of work; 0 or less: unknown
	Bytes bool   // the amounts are bytes (shown in MiB)
	Unit  string // the plural unit of other amounts, e.g. "batches" (default "items")
	// Interval is the least time between plain lines (default DefaultInterval).
	Interval time.Duration
}

// Bar reports the progress of one task. Its methods are safe for concurrent use, and a nil
// *Bar (from New with a nil writer) does nothing.
type Bar struct {
	mu  sync.Mutex
	tty *progressbar.ProgressBar // on a terminal

	// Plain-line state.
	w           io.Writer
	opts        Options
	done, total int64
	desc        string
	start, last time.Time
	now         func() time.Time
	lastLine    string
	finished    bool
}

// New returns a bar writing to w: a terminal bar if w is a terminal, plain lines otherwise.
// A nil w gives a nil bar.
func New(w io.Writer, o Options) *Bar {
	if w == nil {
		return nil
	}
	return newBar(w, o, IsTerminal(w), time.Now)
}

func newBar(w io.Writer, o Options, tty bool, now func() time.Time) *Bar {
	if o.Unit == "" {
		o.Unit = "items"
	}
	if o.Interval <= 0 {
		o.Interval = DefaultInterval
	}
	b := &Bar{w: w, opts: o, total: o.Total, now: now, start: now()}
	b.last = b.start
	if tty {
		opts := []progressbar.Option{
			progressbar.OptionSetWriter(w),
			progressbar.OptionSetDescription(o.Label),
			progressbar.OptionSetWidth(30),
			progressbar.OptionShowCount(),
			progressbar.OptionShowIts(),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionSetElapsedTime(true),
			progressbar.OptionThrottle(100 * time.Millisecond),
			progressbar.OptionOnCompletion(func() { fmt.Fprintln(w) }),
		}
		if o.Bytes {
			opts = append(opts, progressbar.OptionShowBytes(true), progressbar.OptionUseIECUnits(true))
		} else {
			opts = append(opts, progressbar.OptionSetItsString(o.Unit))
		}
		total := o.Total
		if total <= 0 {
			total = -1 // progressbar's spinner for an unknown total
		}
		b.tty = progressbar.NewOptions64(total, opts...)
	}
	return b
}

// IsTerminal reports whether w is a terminal (a character device), where bars are drawn.
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// Add records n more units of work done.
func (b *Bar) Add(n int64) {
	if b == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.setLocked(b.done + n)
}

// Done returns the units of work done so far (0 for a nil bar).
func (b *Bar) Done() int64 {
	if b == nil {
		return 0
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.done
}

// Set records that done units of work are done.
func (b *Bar) Set(done int64) {
	if b == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.setLocked(done)
}

func (b *Bar) setLocked(done int64) {
	b.done = done
	if b.tty != nil {
		_ = b.tty.Set64(done) // writes to a terminal; a failed draw is not the task's failure
		return
	}
	if t := b.now(); t.Sub(b.last) >= b.opts.Interval {
		b.last = t
		b.line(t)
	}
}

// AddTotal grows the amount of work by n (a download learns its files' sizes as it goes).
func (b *Bar) AddTotal(n int64) {
	if b == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.total += n
	if b.tty != nil {
		b.tty.ChangeMax64(b.total)
	}
}

// Describe sets a short status shown after the label (e.g. the current loss).
func (b *Bar) Describe(s string) {
	if b == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.desc = s
	if b.tty != nil {
		label := b.opts.Label
		if s != "" {
			label += " " + s
		}
		b.tty.Describe(label)
	}
}

// Finish draws the final state and ends the line. Later calls do nothing.
func (b *Bar) Finish() {
	if b == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.finished {
		return
	}
	b.finished = true
	if b.tty != nil {
		_ = b.tty.Finish()
		return
	}
	b.line(b.now())
}

// line writes one plain progress line (label, amount, share, rate, ETA and status) unless it
// would repeat the last one.
func (b *Bar) line(t time.Time) {
	elapsed := t.Sub(b.start).Seconds()
	amount := func(v int64) string {
		if b.opts.Bytes {
			return fmt.Sprintf("%.1f", float64(v)/(1<<20))
		}
		return fmt.Sprint(v)
	}
	unit := b.opts.Unit
	if b.opts.Bytes {
		unit = "MiB"
	}
	s := b.opts.Label + ": " + amount(b.done)
	if b.total > 0 {
		s += fmt.Sprintf("/%s %s (%.0f%%)", amount(b.total), unit, 100*float64(b.done)/float64(b.total))
	} else {
		s += " " + unit
	}
	if elapsed > 0 && b.done > 0 {
		rate := float64(b.done) / elapsed
		if b.opts.Bytes {
			s += fmt.Sprintf(", %.2f MiB/s", rate/(1<<20))
		} else {
			s += fmt.Sprintf(", %.3g %s/s", rate, unit)
		}
		if b.total > b.done {
			eta := time.Duration(float64(b.total-b.done) / rate * float64(time.Second))
			s += ", eta " + eta.Round(time.Second).String()
		}
	}
	if b.desc != "" {
		s += ", " + b.desc
	}
	if s != b.lastLine {
		b.lastLine = s
		fmt.Fprintln(b.w, s)
	}
}
