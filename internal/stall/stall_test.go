package stall

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

// dripReader returns one byte per read, gap apart (in the synctest bubble's fake time).
type dripReader struct {
	n   int
	gap time.Duration
}

func (d *dripReader) Read(p []byte) (int, error) {
	if d.n == 0 {
		return 0, io.EOF
	}
	time.Sleep(d.gap)
	d.n--
	p[0] = 'x'
	return 1, nil
}

// TestWatchdog: the limit is on time without progress: reads that return data more often
// than the timeout keep the context alive however long the transfer lasts; a gap longer
// than the timeout cancels it with ErrNoProgress, and Err says so.
func TestWatchdog(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, w, stop := Watch(t.Context(), 10*time.Second)
		defer stop()
		b, err := io.ReadAll(w.Reader(&dripReader{n: 10, gap: 9 * time.Second}))
		if err != nil || len(b) != 10 || ctx.Err() != nil {
			t.Fatalf("90 s of reads 9 s apart: %d bytes, %v, ctx %v; want all, alive", len(b), err, ctx.Err())
		}
		time.Sleep(11 * time.Second)
		if !errors.Is(context.Cause(ctx), ErrNoProgress) {
			t.Fatalf("after 11 s without a read: cause %v, want ErrNoProgress", context.Cause(ctx))
		}
		err = w.Err(ctx, context.Canceled)
		if !errors.Is(err, ErrNoProgress) || !strings.Contains(err.Error(), "10s") {
			t.Errorf("Err = %v, want ErrNoProgress naming the timeout", err)
		}
	})
	synctest.Test(t, func(t *testing.T) {
		ctx, w, stop := Watch(t.Context(), time.Second)
		stop()
		if err := w.Err(ctx, io.ErrUnexpectedEOF); err != io.ErrUnexpectedEOF {
			t.Errorf("Err after stop = %v, want the error unchanged", err)
		}
	})
}
