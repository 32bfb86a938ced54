package timelock

import (
	"testing"
	"time"
)

// TestRevealRound: bittensor-drand's generate_commit on its own test inputs, worked by hand.
func TestRevealRound(t *testing.T) {
	t0 := time.Unix(1692803367+3_000_000, 0) // quicknet round 1,000,001 begins
	for _, tc := range []struct {
		name                 string
		now                  time.Time
		block                uint64
		netuid               uint16
		tempo, period, round uint64
	}{
		// (1000+2)/101 = epoch 9; reveal epoch 11 starts at 11*101-2 = 1109, 109 blocks =
		// 1308 s away: ceil((3e6+1308)/3) - 24.
		{"sdk test inputs", t0, 1000, 1, 100, 2, 1_000_436 - 24},
		{"fractional second rounds up", t0.Add(500 * time.Millisecond), 1000, 1, 100, 2, 1_000_437 - 24},
		// epoch 10; block 1109 is 4 blocks (48 s < 72 s) away, so the next epoch's 1210: 105
		// blocks, 1260 s.
		{"too close moves an epoch", t0, 1105, 1, 100, 1, 1_000_420 - 24},
		// period 0: the epoch's start (1008) is past; 1109 is 24 s away; 1210 then.
		{"period 0", t0, 1107, 1, 100, 0, 1_000_412 - 24},
		{"before genesis", time.Unix(0, 0), 1000, 1, 100, 2, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := RevealRound(QuicknetSchedule, CommitTime{tc.now, 12 * time.Second, tc.block, tc.netuid, tc.tempo, tc.period}); got != tc.round {
				t.Errorf("RevealRound(%v, %d, %d, %d, %d) = %d, want %d", tc.now.Unix(), tc.block, tc.netuid, tc.tempo, tc.period, got, tc.round)
			}
		})
	}
	// Fast blocks (250 ms): 109 blocks are 27.25 s, under the 72 s pulse delay; epochs move
	// on to 1311 (311 blocks, 77.75 s): ceil((3e6+77.75)/3) - 24.
	if got, want := RevealRound(QuicknetSchedule, CommitTime{t0, 250 * time.Millisecond, 1000, 1, 100, 2}), uint64(1_000_026-24); got != want {
		t.Errorf("RevealRound with 250 ms blocks = %d, want %d", got, want)
	}
}

// TestScaledSchedule: a beacon with four rounds per block (quicknet's 3 s rounds per 12 s
// block, scaled to a 1 s block) makes the reveal round the SDK's ceil(reveal time / period)
// less PulseDelay, published PulseDelay/4 = 6 blocks before the reveal block.
func TestScaledSchedule(t *testing.T) {
	genesis := time.UnixMilli(1_760_000_000_123)
	s := Schedule{Genesis: genesis, Period: 250 * time.Millisecond}
	at := func(b uint64) time.Time { return genesis.Add(time.Duration(b) * time.Second) }
	if got := s.RoundAt(at(0)); got != 1 {
		t.Errorf("RoundAt(genesis) = %d, want 1", got)
	}
	if got := s.RoundAt(genesis.Add(-time.Millisecond)); got != 0 {
		t.Errorf("RoundAt(before genesis) = %d, want 0", got)
	}
	for _, tc := range []struct {
		block, tempo, period, revealBlock uint64
	}{
		{5, 10, 1, 12},  // epoch (5+10)/11 = 1; epoch 2 starts at 22-10 = 12: 7 blocks ≥ 6
		{7, 10, 1, 23},  // epoch 1 ends 11; 12 is 5 blocks away (< 6): epoch 3 at 23
		{30, 10, 2, 45}, // epoch 3; epoch 5 starts at 55-10 = 45
	} {
		// netuid 9: epochs start where (b + 10) % (tempo + 1) == 0.
		r := RevealRound(s, CommitTime{at(tc.block), time.Second, tc.block, 9, tc.tempo, tc.period})
		if want := 4*tc.revealBlock - PulseDelay; r != want {
			t.Errorf("block %d tempo %d period %d: round %d, want %d", tc.block, tc.tempo, tc.period, r, want)
		}
		if s.RoundAt(at(tc.revealBlock-6)) < r || s.RoundAt(at(tc.revealBlock-7)) >= r {
			t.Errorf("round %d published at block %d, want %d", r, tc.revealBlock-6, tc.revealBlock-6)
		}
	}
}
