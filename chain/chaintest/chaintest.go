// Package chaintest is the conformance suite every chain.Chain backend runs: the same
// assertions against the embedded local chain and, given a harness, against subtensor.
package chaintest

import (
	"errors"
	"strings"
	"testing"

	"github.com/pretrain/pretrain/chain"
)

// Harness is a backend prepared for the suite: subnet NetUID exists; Validator is
// registered there with a validator permit (so it may set weights on other uids now) and
// Miner is registered and has not committed. Advance, if not nil, produces n blocks; the
// suite skips the checks that need it otherwise. Commits and weights are made once each,
// so rate limits of 1 or more are fine. Hyperparameters, if not zero, are the subnet's
// known settings, which Hyperparameters must return. Where the subnet has commit-reveal on,
// the weight checks wait for the reveal (CommitReveal) instead of reading the row at once.
type Harness struct {
	Chain           chain.Chain
	NetUID          uint16
	Validator       chain.Signer
	Miner           chain.Signer
	Advance         func(t *testing.T, n int)
	Hyperparameters chain.Hyperparameters
}

// Run runs the suite; newHarness is called once per subtest.
func Run(t *testing.T, newHarness func(t *testing.T) Harness) {
	t.Run("BlocksAndHashes", func(t *testing.T) { testBlocks(t, newHarness(t)) })
	t.Run("Metagraph", func(t *testing.T) { testMetagraph(t, newHarness(t)) })
	t.Run("Commitments", func(t *testing.T) { testCommitments(t, newHarness(t)) })
	t.Run("Weights", func(t *testing.T) { testWeights(t, newHarness(t)) })
	t.Run("Hyperparameters", func(t *testing.T) { testHyperparameters(t, newHarness(t)) })
	t.Run("CommitReveal", func(t *testing.T) { testCommitReveal(t, newHarness(t)) })
}

// commitReveal reports whether h's subnet has commit-reveal on.
func commitReveal(t *testing.T, h Harness) chain.Hyperparameters {
	t.Helper()
	hp, err := h.Chain.Hyperparameters(t.Context(), h.NetUID)
	if err != nil {
		t.Fatal(err)
	}
	return hp
}

func testBlocks(t *testing.T, h Harness) {
	ctx := t.Context()
	b1, err := h.Chain.CurrentBlock(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if h.Advance != nil {
		h.Advance(t, 2)
	}
	b2, err := h.Chain.CurrentBlock(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if b2 < b1 || (h.Advance != nil && b2 < b1+2) {
		t.Errorf("CurrentBlock went %d → %d", b1, b2)
	}
	hash, err := h.Chain.BlockHash(ctx, b2)
	if err != nil {
		t.Fatal(err)
	}
	again, err := h.Chain.BlockHash(ctx, b2)
	if err != nil || again != hash || hash == (chain.Hash{}) {
		t.Errorf("BlockHash(%d) = %v then %v, %v", b2, hash, again, err)
	}
	if parsed, err := chain.ParseHash(hash.String()); err != nil || parsed != hash {
		t.Errorf("ParseHash(String()) = %v, %v", parsed, err)
	}
	if _, err := h.Chain.BlockHash(ctx, b2+1_000_000); !errors.Is(err, chain.ErrNotFound) {
		t.Errorf("BlockHash of a future block: error %v, want ErrNotFound", err)
	}
}

func testMetagraph(t *testing.T, h Harness) {
	m, err := h.Chain.Metagraph(t.Context(), h.NetUID)
	if err != nil {
		t.Fatal(err)
	}
	if m.NetUID != h.NetUID || m.N == 0 {
		t.Fatalf("metagraph netuid %d n %d", m.NetUID, m.N)
	}
	for name, l := range map[string]int{
		"Hotkeys": len(m.Hotkeys), "Coldkeys": len(m.Coldkeys), "Stake": len(m.Stake),
		"ValidatorPermit": len(m.ValidatorPermit), "Trust": len(m.Trust),
		"ValidatorTrust": len(m.ValidatorTrust), "Consensus": len(m.Consensus),
		"Incentive": len(m.Incentive), "Dividends": len(m.Dividends), "Emission": len(m.Emission),
		"LastUpdate": len(m.LastUpdate), "Weights": len(m.Weights),
	} {
		if l != m.N {
			t.Errorf("len(%s) = %d, want N = %d", name, l, m.N)
		}
	}
	v := uidOf(m, h.Validator.SS58())
	if v < 0 || uidOf(m, h.Miner.SS58()) < 0 {
		t.Fatalf("validator or miner not in metagraph")
	}
	if !m.ValidatorPermit[v] {
		t.Errorf("validator uid %d has no permit", v)
	}
	for i := 0; i < m.N; i++ {
		for _, x := range []float64{m.Trust[i], m.ValidatorTrust[i], m.Consensus[i], m.Incentive[i], m.Dividends[i]} {
			if x < 0 || x > 1 {
				t.Errorf("uid %d: proportion %v outside [0, 1]", i, x)
			}
		}
	}
	if _, err := h.Chain.Metagraph(t.Context(), 65000); !errors.Is(err, chain.ErrNotFound) {
		t.Errorf("Metagraph(65000) error = %v, want ErrNotFound", err)
	}
}

func uidOf(m *chain.Metagraph, hotkey string) int {
	for i, hk := range m.Hotkeys {
		if hk == hotkey {
			return i
		}
	}
	return -1
}

func testCommitments(t *testing.T, h Harness) {
	ctx := t.Context()
	hk := h.Miner.SS58()
	if _, err := h.Chain.Commitment(ctx, h.NetUID, hk); !errors.Is(err, chain.ErrNotFound) {
		t.Fatalf("Commitment before commit: error %v, want ErrNotFound", err)
	}
	if err := h.Chain.Commit(ctx, h.Miner, h.NetUID, strings.Repeat("x", chain.MaxCommitmentBytes+1)); !errors.Is(err, chain.ErrInvalid) {
		t.Errorf("oversized Commit error = %v, want ErrInvalid", err)
	}
	data := "ns:name:" + strings.Repeat("a", 40) + ":" + strings.Repeat("B", 43) + "=:1"
	before, err := h.Chain.CurrentBlock(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Chain.Commit(ctx, h.Miner, h.NetUID, data); err != nil {
		t.Fatal(err)
	}
	got, err := h.Chain.Commitment(ctx, h.NetUID, hk)
	if err != nil {
		t.Fatal(err)
	}
	after, _ := h.Chain.CurrentBlock(ctx)
	if got.Data != data || got.Block < before || got.Block > after+1 {
		t.Errorf("Commitment = %+v, want %q at a block in [%d, %d]", got, data, before, after+1)
	}
}

func testWeights(t *testing.T, h Harness) {
	if commitReveal(t, h).CommitRevealEnabled {
		t.Skip("commit-reveal on: weights are checked by CommitReveal")
	}
	ctx := t.Context()
	m, err := h.Chain.Metagraph(ctx, h.NetUID)
	if err != nil {
		t.Fatal(err)
	}
	miner := chain.UID(uidOf(m, h.Miner.SS58()))
	if err := h.Chain.SetWeights(ctx, h.Validator, h.NetUID, []chain.UID{miner, miner}, []uint16{1, 1}, 0); !errors.Is(err, chain.ErrInvalid) {
		t.Errorf("SetWeights with a duplicate uid: error %v, want ErrInvalid", err)
	}
	if err := h.Chain.SetWeights(ctx, h.Validator, h.NetUID, []chain.UID{miner}, []uint16{1000}, 1<<40); err != nil {
		t.Fatal(err)
	}
	m, err = h.Chain.Metagraph(ctx, h.NetUID)
	if err != nil {
		t.Fatal(err)
	}
	v := uidOf(m, h.Validator.SS58())
	want := []chain.WeightEntry{{UID: miner, Weight: 65535}} // stored max-upscaled
	if len(m.Weights[v]) != 1 || m.Weights[v][0] != want[0] {
		t.Errorf("validator's weight row = %v, want %v", m.Weights[v], want)
	}
}

func testHyperparameters(t *testing.T, h Harness) {
	ctx := t.Context()
	hp, err := h.Chain.Hyperparameters(ctx, h.NetUID)
	if err != nil {
		t.Fatal(err)
	}
	if h.Hyperparameters != (chain.Hyperparameters{}) && hp != h.Hyperparameters {
		t.Errorf("Hyperparameters = %+v, want %+v", hp, h.Hyperparameters)
	}
	if hp.Tempo == 0 || hp.MaxWeightLimit == 0 {
		t.Errorf("Hyperparameters = %+v: tempo and max weight limit must be positive", hp)
	}
	if _, err := h.Chain.Hyperparameters(ctx, 65000); !errors.Is(err, chain.ErrNotFound) {
		t.Errorf("Hyperparameters(65000) error = %v, want ErrNotFound", err)
	}
	if hp.WeightsVersion == 0 {
		return
	}
	m, err := h.Chain.Metagraph(ctx, h.NetUID)
	if err != nil {
		t.Fatal(err)
	}
	if hp.CommitRevealEnabled {
		return // the version key is checked at the reveal (CommitReveal)
	}
	miner := chain.UID(uidOf(m, h.Miner.SS58()))
	err = h.Chain.SetWeights(ctx, h.Validator, h.NetUID, []chain.UID{miner}, []uint16{1}, hp.WeightsVersion-1)
	if !errors.Is(err, chain.ErrInvalid) {
		t.Errorf("SetWeights with version key %d < %d: error %v, want ErrInvalid", hp.WeightsVersion-1, hp.WeightsVersion, err)
	}
}

// testCommitReveal, on a subnet with commit-reveal: SetWeights is accepted, the row does not
// change until the reveal, which comes within the reveal period and a pulse delay, and the
// next epoch pays the miner; a commit whose version key is too low is accepted and then
// dropped at its reveal. Backends that are WeightCommitReaders show each commit pending,
// then revealed or failed with a reason (or no longer there).
func testCommitReveal(t *testing.T, h Harness) {
	hp := commitReveal(t, h)
	if !hp.CommitRevealEnabled {
		t.Skip("commit-reveal off")
	}
	if h.Advance == nil {
		t.Skip("needs Advance")
	}
	ctx := t.Context()
	m, err := h.Chain.Metagraph(ctx, h.NetUID)
	if err != nil {
		t.Fatal(err)
	}
	v, miner := uidOf(m, h.Validator.SS58()), chain.UID(uidOf(m, h.Miner.SS58()))
	before := m.Block
	row := func() []chain.WeightEntry {
		m, err := h.Chain.Metagraph(ctx, h.NetUID)
		if err != nil {
			t.Fatal(err)
		}
		return m.Weights[v]
	}
	if err := h.Chain.SetWeights(ctx, h.Validator, h.NetUID, []chain.UID{miner}, []uint16{1000}, max(hp.WeightsVersion, 1<<40)); err != nil {
		t.Fatal(err)
	}
	want := chain.WeightEntry{UID: miner, Weight: 65535}
	if r := row(); len(r) == 1 && r[0] == want {
		t.Fatalf("the row is %v before any reveal", r)
	}
	commits := func() []chain.WeightCommit {
		r, ok := h.Chain.(chain.WeightCommitReader)
		if !ok {
			return nil
		}
		w, err := r.WeightCommits(ctx, h.NetUID, h.Validator.SS58())
		if err != nil {
			t.Fatal(err)
		}
		return w
	}
	if w := commits(); w != nil && (len(w) != 1 || w[0].Status != chain.CommitPending || w[0].Block < before) {
		t.Errorf("WeightCommits after SetWeights = %+v, want one pending commit at block %d or later", w, before)
	}
	// The reveal epoch is at most RevealPeriodEpochs+1 epochs ahead (one more when the
	// next start is under the pulse delay away).
	limit := (int(hp.Tempo) + 1) * (int(hp.RevealPeriodEpochs) + 2)
	revealed := false
	for range limit {
		h.Advance(t, 1)
		if r := row(); len(r) == 1 && r[0] == want {
			revealed = true
			break
		}
	}
	if !revealed {
		t.Fatalf("weights not revealed within %d blocks; commits %+v", limit, commits())
	}
	for _, c := range commits() {
		if c.Status != chain.CommitRevealed || c.Resolved < c.Block {
			t.Errorf("WeightCommits after the reveal: %+v, want revealed", c)
		}
	}
	h.Advance(t, int(hp.Tempo)+1)
	m, err = h.Chain.Metagraph(ctx, h.NetUID)
	if err != nil {
		t.Fatal(err)
	}
	if m.Incentive[miner] <= 0 {
		t.Errorf("miner incentive %v an epoch after the reveal, want > 0", m.Incentive[miner])
	}
	if hp.WeightsVersion == 0 {
		return
	}
	h.Advance(t, int(min(hp.WeightsRateLimit, 1000))) // past the commit rate limit
	if err := h.Chain.SetWeights(ctx, h.Validator, h.NetUID, []chain.UID{miner}, []uint16{7}, hp.WeightsVersion-1); err != nil {
		t.Fatalf("a commit is accepted whatever its payload: %v", err)
	}
	h.Advance(t, limit)
	if r := row(); len(r) != 1 || r[0] != want {
		t.Errorf("row %v after a commit with a low version key, want it unchanged (%v)", r, want)
	}
	if w := commits(); len(w) > 0 {
		last := w[len(w)-1]
		if last.Status != chain.CommitFailed || last.Reason == "" {
			t.Errorf("WeightCommits after a low version key's reveal: %+v, want failed with a reason", last)
		}
	}
}
