// Package wait holds the one context-aware pause the retry loops share.
package wait

import (
	"context"
	"time"
)

// Sleep waits d, or until ctx ends, and returns ctx's error in that case.
func Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
