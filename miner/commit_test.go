package miner

import (
	"log/slog"
	"testing"
	"testing/synctest"
	"time"

	"github.com/pretrain/pretrain/chain/localchain"
)

// TestCommitLoopDelay checks the loop's pacing with the reference's 60 s retry delay on a
// fake clock: a chain that drops two commits costs exactly two delays.
func TestCommitLoopDelay(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		lc, keys := openChain(t, localchain.SubnetConfig{NoCommitRateLimit: true}, "//Miner")
		fc := &flakyChain{PushChain: lc, drop: 2}
		const data = "miner:tiny:0123456789abcdef0123456789abcdef01234567:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=:99"
		start := time.Now()
		b, err := commitUntilReadBack(t.Context(), fc, PushConfig{Hotkey: keys[0], NetUID: netuid}, data, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		if got, want := time.Since(start), 2*DefaultRetryDelay; got != want {
			t.Errorf("commit loop took %v, want %v", got, want)
		}
		if fc.commits != 3 || b != 1 {
			t.Errorf("%d commits, block %d; want 3 commits, block 1", fc.commits, b)
		}
	})
}
