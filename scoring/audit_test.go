package scoring

import (
	"encoding/json"
	"math"
	"strings"
	"testing"

	"github.com/pretrain/pretrain/competition"
)

func TestAudit(t *testing.T) {
	// The spec's non-transitive example, moved to B3 blocks where LinearDecay(0.005, 0.0001,
	// 14400) applies, plus a failed model (no score) and a clone.
	in, err := ParseAuditInput(strings.NewReader(`{"competition_id": 2, "current_block": 5200000, "models": [
		{"uid": 1, "block": 5199600, "score": 2.50}, {"uid": 2, "block": 5199700, "score": 2.49},
		{"uid": 3, "block": 5199800, "score": 2.48}, {"uid": 7, "block": 5190500, "score": null},
		{"uid": 9, "block": 5199900, "score": 2.50}]}`))
	if err != nil {
		t.Fatal(err)
	}
	out, err := Audit(in, competition.Mainnet)
	if err != nil {
		t.Fatal(err)
	}
	// uid 7 failed but is the earliest, so it is competitive and loses every match.
	if got := out.CompetitiveIDs; len(got) != 4 || got[0] != 1 || got[3] != 7 {
		t.Errorf("competitive = %v, want [1 2 3 7]", got)
	}
	if out.WinRates["1"] != 2.0/3 || out.WinRates["7"] != 0 || out.Wins["9"] != 0 {
		t.Errorf("win rates = %v, wins = %v", out.WinRates, out.Wins)
	}
	if out.TopUID == nil || *out.TopUID != 1 {
		t.Errorf("top = %v, want 1", out.TopUID)
	}
	sum := 0.0
	for _, w := range out.Weights {
		sum += w
	}
	if math.Abs(sum-1) > 1e-6 || len(out.Weights) != 5 {
		t.Errorf("weights = %v", out.Weights)
	}
	b, err := json.Marshal(out)
	if err != nil || !strings.Contains(string(b), `"7":"inf"`) {
		t.Errorf("json = %s, %v", b, err)
	}
	if _, err := Audit(AuditInput{CompetitionID: competition.TTSV0, CurrentBlock: 10}, competition.Mainnet); err == nil {
		t.Error("Audit accepted a competition not active at the block")
	}
}

func TestParseAuditInputRejects(t *testing.T) {
	for _, bad := range []string{
		``, `{`, `[]`, `{"competition_id": 2, "current_block": 1, "models": [{"uid": 1, "block": 1, "score": -1}]}`,
		`{"competition_id": 2, "current_block": 1, "models": [{"uid": 1, "block": 1}, {"uid": 1, "block": 2}]}`,
		`{"competition_id": 2, "current_block": 1, "models": [{"uid": 70000, "block": 1}]}`,
		`{"competition_id": 2, "current_block": -1, "models": []}`,
		`{"competition_id": 2, "current_block": 1, "models": [{"uid": 1, "block": -5}]}`,
		`{"competition_id": 2, "current_block": 1, "modles": []}`,
		`{"competition_id": 2, "current_block": 1, "models": []} {}`,
	} {
		if _, err := ParseAuditInput(strings.NewReader(bad)); err == nil {
			t.Errorf("ParseAuditInput(%q) accepted", bad)
		}
	}
	big := `{"competition_id": 2, "current_block": 1, "models": [` + strings.Repeat(`{"uid": 1, "block": 1},`, maxAuditBytes/20) + `]}`
	if _, err := ParseAuditInput(strings.NewReader(big)); err == nil || !strings.Contains(err.Error(), "bytes") {
		t.Errorf("oversized input: %v", err)
	}
}

// FuzzAudit: no input panics `pretrain rank`'s path, and every accepted step gives weights
// that sum to 1 over its uids (or no uids).
func FuzzAudit(f *testing.F) {
	f.Add(`{"competition_id": 2, "current_block": 5200000, "models": [{"uid": 1, "block": 5199600, "score": 2.5}, {"uid": 3, "block": 5199800}]}`)
	f.Add(`{"competition_id": 99, "current_block": 10, "models": [{"uid": 0, "block": 1, "score": 1e308}, {"uid": 65535, "block": 1, "score": 0}]}`)
	f.Add(`{"competition_id": 4, "current_block": 0, "models": []}`)
	f.Fuzz(func(t *testing.T, s string) {
		in, err := ParseAuditInput(strings.NewReader(s))
		if err != nil {
			return
		}
		for name, sched := range competition.Schedules {
			out, err := Audit(in, sched)
			if err != nil {
				continue
			}
			sum := 0.0
			for _, w := range out.Weights {
				sum += w
			}
			if len(in.Models) > 0 && math.Abs(sum-1) > 1e-5 {
				t.Fatalf("%s: weights sum to %v: %v", name, sum, out.Weights)
			}
		}
	})
}
