package leaderboard

import (
	"testing"

	"github.com/pretrain/pretrain/chain"
	"github.com/pretrain/pretrain/validator"
)

// TestRejectedIndexed: a model the validator refused before evaluation (the step record's
// "rejected" map) is indexed as a failed score with the validator's reason, so the board
// shows it as rejected rather than pending.
func TestRejectedIndexed(t *testing.T) {
	b := chain.Block(42)
	rec := validator.StepRecord{Version: 1, ValidatorHotkey: "5V", Step: 3, Block: 100,
		Rejected: map[string]validator.UIDRec{"6": {UID: 6, Hotkey: "5E", Block: &b, HF: "eve/m", Commit: "c1",
			Reason: "model rejected: n_positions 256 is shorter than the sequence length 512"}}}
	idx := indexScores([]validator.StepRecord{rec}, &chain.Metagraph{N: 7, Hotkeys: []string{"", "", "", "", "", "", "5E"}})
	s := idx.scores(6, "5E")
	if len(s) != 1 || s[0].Loss != nil || s[0].Repo != "eve/m" || s[0].Commit != "c1" || s[0].Reason != rec.Rejected["6"].Reason {
		t.Fatalf("scores of the rejected uid: %+v", s)
	}
}
