// Package stall ends transfers that stop making progress. The limit is on the time between
// two reads that return data, not on the whole transfer: a model download may take hours,
// but a server that sends nothing for the timeout has stalled (requests' timeout, which
// huggingface_hub and the datasets client of the reference use, means the same).
package stall

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"
)

// ErrNoProgress is the cause of a context a [Watchdog] cancelled.
var ErrNoProgress = errors.New("no progress within the timeout")

// Watchdog cancels its context when it is not kicked for its timeout.
type Watchdog struct {
	timer   *time.Timer
	timeout time.Duration
}

// Watch returns a context derived from ctx, to make the transfer's requests with, and its
// watchdog: the context is cancelled with cause [ErrNoProgress] once timeout passes without
// a [Watchdog.Kick] or a read through [Watchdog.Reader] that returns data. stop releases
// both; call it when the transfer ends.
func Watch(ctx context.Context, timeout time.Duration) (wctx context.Context, w *Watchdog, stop func()) {
	wctx, cancel := context.WithCancelCause(ctx)
	w = &Watchdog{timeout: timeout}
	w.timer = time.AfterFunc(timeout, func() { cancel(ErrNoProgress) })
	return wctx, w, func() {
		w.timer.Stop()
		cancel(nil)
	}
}

// Kick records progress (response headers arrived, say): the timeout starts again.
func (w *Watchdog) Kick() { w.timer.Reset(w.timeout) }

// Reader returns r, kicking the watchdog on every read that returns data.
func (w *Watchdog) Reader(r io.Reader) io.Reader { return &reader{r: r, w: w} }

// Err explains err, returned by a transfer made with wctx (from [Watch]): if the watchdog
// ended it, the error wraps ErrNoProgress and says after how long.
func (w *Watchdog) Err(wctx context.Context, err error) error {
	if err == nil || !errors.Is(context.Cause(wctx), ErrNoProgress) {
		return err
	}
	return fmt.Errorf("%w (%v): %w", ErrNoProgress, w.timeout, err)
}

type reader struct {
	r io.Reader
	w *Watchdog
}

func (r *reader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if n > 0 {
		r.w.Kick()
	}
	return n, err
}
