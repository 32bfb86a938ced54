package localchain

import (
	"bytes"
	crand "crypto/rand"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pretrain/pretrain/chain"
	"github.com/pretrain/pretrain/chain/timelock"
	"github.com/pretrain/pretrain/wallet"
)

// crSubnet creates subnet 9 (tempo 10: epochs run at blocks 0, 11, 22, …; epoch index e
// spans blocks 11e-10 … 11e) with two staked validators and three miners, and advances to
// block 11, whose epoch gives the validators their permits.
func crSubnet(t *testing.T, c *Chain, cfg SubnetConfig) (vals, miners []*wallet.Keypair) {
	t.Helper()
	ctx := t.Context()
	cfg.Tempo = 10
	if err := c.CreateSubnet(ctx, 9, cfg); err != nil {
		t.Fatal(err)
	}
	cold := key(t, "//Cold")
	for _, name := range []string{"//V1", "//V2", "//M1", "//M2", "//M3"} {
		k := key(t, name)
		if _, err := c.Register(ctx, 9, k.SS58(), cold.SS58()); err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(name, "//V") {
			vals = append(vals, k)
			if err := c.AddStake(ctx, k.SS58(), cold.SS58(), 1e12); err != nil {
				t.Fatal(err)
			}
		} else {
			miners = append(miners, k)
		}
	}
	if b := mustAdvance(t, c, 11); b != 11 {
		t.Fatalf("head %d, want 11", b)
	}
	return vals, miners
}

func commitsOf(t *testing.T, c *Chain, hotkey string) []chain.WeightCommit {
	t.Helper()
	w, err := c.WeightCommits(t.Context(), 9, hotkey)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func metagraph(t *testing.T, c *Chain) *chain.Metagraph {
	t.Helper()
	m, err := c.Metagraph(t.Context(), 9)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestCommitRevealTwoValidators: two validators commit at block 11 (epoch 1); the SDK's
// round for reveal epoch 2 (blocks 12-22, whose start is under the 6-block pulse delay away)
// is that of block 23 less 24 rounds: 4·23-24 = 68, published at block ceil(67/4) = 17. So
// nothing is applied before block 17 and both rows are at 17; and the epoch at block 22 then
// gives exactly what the same weights set directly at block 17 on a chain without
// commit-reveal give.
func TestCommitRevealTwoValidators(t *testing.T) {
	ctx := t.Context()
	c, _ := openManual(t)
	vals, _ := crSubnet(t, c, SubnetConfig{NoWeightsRateLimit: true})
	plain, _ := openManual(t)
	crSubnet(t, plain, SubnetConfig{NoWeightsRateLimit: true, NoCommitReveal: true})

	if hp, err := c.Hyperparameters(ctx, 9); err != nil || !hp.CommitRevealEnabled || hp.RevealPeriodEpochs != 1 {
		t.Fatalf("Hyperparameters = %+v, %v: want commit-reveal on by default, period 1", hp, err)
	}
	rows := [][]uint16{{60000, 20000, 0}, {30000, 30000, 10000}}
	uids := []chain.UID{2, 3, 4}
	if err := c.DoSetWeights(ctx, vals[0], 9, uids, rows[0], 0); !errors.Is(err, ErrCommitRevealEnabled) || !errors.Is(err, chain.ErrInvalid) {
		t.Errorf("set_weights with commit-reveal on: %v, want ErrCommitRevealEnabled (ErrInvalid)", err)
	}
	for i, v := range vals {
		if err := c.SetWeights(ctx, v, 9, uids, rows[i], 0); err != nil {
			t.Fatal(err)
		}
		w := commitsOf(t, c, v.SS58())
		if len(w) != 1 || w[0].Status != chain.CommitPending || w[0].Block != 11 || w[0].RevealRound != 68 {
			t.Fatalf("validator %d commits = %+v, want one pending at block 11 for round 68", i, w)
		}
	}
	mustAdvance(t, c, 5) // block 16
	for i := range vals {
		if m := metagraph(t, c); len(m.Weights[i]) != 0 {
			t.Fatalf("block 16: validator %d has weights %v before its reveal", i, m.Weights[i])
		}
	}
	if _, err := c.Pulse(ctx, 68); !errors.Is(err, chain.ErrNotFound) {
		t.Errorf("Pulse(68) at block 16: %v, want ErrNotFound (published at 17)", err)
	}
	mustAdvance(t, c, 1) // block 17
	m := metagraph(t, c)
	for i, v := range vals {
		want := maxUpscaleU16(rows[i])
		var got []uint16
		for _, e := range m.Weights[i] {
			got = append(got, e.Weight)
		}
		if !slices.Equal(got[:2], want[:2]) || m.LastUpdate[i] != 17 {
			t.Errorf("block 17: validator %d weights %v last update %d, want %v at 17", i, m.Weights[i], m.LastUpdate[i], want)
		}
		w := commitsOf(t, c, v.SS58())
		if len(w) != 1 || w[0].Status != chain.CommitRevealed || w[0].Resolved != 17 || w[0].Reason != "" {
			t.Errorf("validator %d commits after the reveal = %+v", i, w)
		}
	}

	mustAdvance(t, plain, 6) // block 17
	for i, v := range vals {
		if err := plain.SetWeights(ctx, v, 9, uids, rows[i], 0); err != nil {
			t.Fatal(err)
		}
	}
	mustAdvance(t, c, 5) // the epoch at block 22
	mustAdvance(t, plain, 5)
	got, want := metagraph(t, c), metagraph(t, plain)
	for _, f := range []struct {
		name      string
		got, want []float64
	}{
		{"incentive", got.Incentive, want.Incentive}, {"dividends", got.Dividends, want.Dividends},
		{"consensus", got.Consensus, want.Consensus}, {"emission", got.Emission, want.Emission},
	} {
		if !slices.Equal(f.got, f.want) {
			t.Errorf("%s after the epoch = %v, want %v (direct weights)", f.name, f.got, f.want)
		}
	}
	if got.Incentive[2] <= got.Incentive[3] || got.Incentive[3] <= 0 {
		t.Errorf("incentive %v: want miner uid 2 above uid 3 above 0", got.Incentive)
	}
}

// TestCommitRevealRejections: each way a commit fails, at the commit or at the reveal, with
// its reason.
func TestCommitRevealRejections(t *testing.T) {
	ctx := t.Context()
	c, _ := openManual(t)
	vals, miners := crSubnet(t, c, SubnetConfig{NoWeightsRateLimit: true, WeightsVersionKey: 5})
	if err := c.CreateSubnet(ctx, 3, SubnetConfig{NoCommitReveal: true}); err != nil {
		t.Fatal(err)
	}
	uids, w := []chain.UID{2, 3}, []uint16{1, 1}
	at := func(block int64) timelock.CommitTime {
		return timelock.CommitTime{Now: c.blockTimeAt(block), BlockTime: 12 * time.Second, Block: uint64(block),
			NetUID: 9, Tempo: 10, RevealPeriod: 1}
	}
	payload := func(k *wallet.Keypair, version uint64) timelock.WeightsPayload {
		return timelock.WeightsPayload{Hotkey: k.PublicKey(), UIDs: uids, Values: w, VersionKey: version}
	}

	// At the commit: an unregistered hotkey, a wrong commit version, a subnet without
	// commit-reveal, an oversized commit.
	stranger := key(t, "//Stranger")
	if err := c.SetWeights(ctx, stranger, 9, uids, w, 5); !errors.Is(err, chain.ErrNotRegistered) {
		t.Errorf("commit by an unregistered hotkey: %v, want ErrNotRegistered", err)
	}
	if got := commitsOf(t, c, stranger.SS58()); len(got) != 0 {
		t.Errorf("an unregistered hotkey's commit was stored: %+v", got)
	}
	ct, round, err := timelock.SealWeights(c.Beacon(), at(11), payload(vals[0], 5), crand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.CommitTimelockedWeights(ctx, vals[0], 9, ct, round, 3); !errors.Is(err, ErrIncorrectCommitRevealVersion) {
		t.Errorf("commit version 3: %v, want ErrIncorrectCommitRevealVersion", err)
	}
	if err := c.CommitTimelockedWeights(ctx, vals[0], 3, ct, round, 4); !errors.Is(err, ErrCommitRevealDisabled) {
		t.Errorf("commit on a subnet without commit-reveal: %v, want ErrCommitRevealDisabled", err)
	}
	if err := c.CommitTimelockedWeights(ctx, vals[0], 9, make([]byte, 5001), round, 4); !errors.Is(err, chain.ErrInvalid) {
		t.Errorf("a 5001-byte commit: %v, want ErrInvalid", err)
	}

	// At the reveal (block 17, as in TestCommitRevealTwoValidators): a version key below the
	// subnet's, a ciphertext to another beacon, bytes that are no ciphertext, a payload
	// naming another hotkey, weights from a hotkey without a validator permit; and a commit
	// to a round never published in its reveal epoch.
	other := timelock.Beacon{PublicKey: timelock.NewSecretKey([]byte("another beacon")).PublicKey(), Schedule: c.Beacon().Schedule}
	foreign, _, err := timelock.SealWeights(other, at(11), payload(miners[0], 5), crand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	impostor, _, err := timelock.SealWeights(c.Beacon(), at(11), payload(vals[0], 5), crand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.SetWeights(ctx, vals[0], 9, uids, w, 4); err != nil {
		t.Fatal(err)
	}
	noPermit := key(t, "//M4") // registered now: no validator permit at the reveal
	if _, err := c.Register(ctx, 9, noPermit.SS58(), key(t, "//Cold").SS58()); err != nil {
		t.Fatal(err)
	}
	if err := c.SetWeights(ctx, noPermit, 9, uids, w, 5); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		k     *wallet.Keypair
		ct    []byte
		round uint64
	}{
		{vals[1], foreign, round},
		{miners[0], bytes.Repeat([]byte{7}, 300), round},
		{miners[1], impostor, round},
		{miners[2], ct, 1 << 40},
	} {
		if err := c.CommitTimelockedWeights(ctx, tc.k, 9, tc.ct, tc.round, 4); err != nil {
			t.Fatal(err)
		}
	}
	mustAdvance(t, c, 6) // block 17
	for _, tc := range []struct {
		k      *wallet.Keypair
		reason string
	}{
		{vals[0], "version key 4 < 5"},
		{vals[1], "ciphertext does not open"},
		{miners[0], "ciphertext does not open"},
		{miners[1], "payload's hotkey is not the committer's"},
		{noPermit, "has no validator permit"},
	} {
		got := commitsOf(t, c, tc.k.SS58())
		if len(got) != 1 || got[0].Status != chain.CommitFailed || got[0].Resolved != 17 || !strings.Contains(got[0].Reason, tc.reason) {
			t.Errorf("%s's commit = %+v, want failed at 17 with %q", tc.k.SS58(), got, tc.reason)
		}
	}
	if got := commitsOf(t, c, miners[2].SS58()); len(got) != 1 || got[0].Status != chain.CommitPending {
		t.Errorf("commit to a far round at block 17 = %+v, want pending", got)
	}
	mustAdvance(t, c, 5) // block 22, the end of reveal epoch 2
	if got := commitsOf(t, c, miners[2].SS58()); len(got) != 1 || got[0].Status != chain.CommitPending {
		t.Errorf("commit to a far round at block 22 = %+v, want pending", got)
	}
	mustAdvance(t, c, 1) // block 23
	if got := commitsOf(t, c, miners[2].SS58()); len(got) != 1 || got[0].Status != chain.CommitFailed ||
		got[0].Resolved != 23 || !strings.Contains(got[0].Reason, "expired") {
		t.Errorf("commit to a far round at block 23 = %+v, want expired", got)
	}
	for i := range 6 {
		if m := metagraph(t, c); len(m.Weights[i]) != 0 {
			t.Errorf("uid %d has weights %v from a rejected commit", i, m.Weights[i])
		}
	}
}

// TestCommitLimits: the commit rate limit (WeightsSetRateLimit from the last commit), and at
// most 10 unrevealed commits per hotkey and epoch.
func TestCommitLimits(t *testing.T) {
	ctx := t.Context()
	c, _ := openManual(t)
	vals, _ := crSubnet(t, c, SubnetConfig{WeightsRateLimit: 3})
	uids, w := []chain.UID{2}, []uint16{1}
	if err := c.SetWeights(ctx, vals[0], 9, uids, w, 0); err != nil {
		t.Fatal(err)
	}
	mustAdvance(t, c, 2)
	if err := c.SetWeights(ctx, vals[0], 9, uids, w, 0); !errors.Is(err, chain.ErrRateLimited) {
		t.Errorf("a commit 2 blocks after the last (limit 3): %v, want ErrRateLimited", err)
	}
	mustAdvance(t, c, 1)
	if err := c.SetWeights(ctx, vals[0], 9, uids, w, 0); err != nil {
		t.Errorf("a commit 3 blocks after the last: %v", err)
	}

	h := chain.Hyperparameters{Tempo: 100, MaxWeightLimit: 65535, MinAllowedWeights: 1, CommitRevealEnabled: true, RevealPeriodEpochs: 1}
	if err := c.SetHyperparameters(ctx, 9, h); err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		if err := c.SetWeights(ctx, vals[1], 9, uids, w, 0); err != nil {
			t.Fatalf("commit %d: %v", i+1, err)
		}
	}
	if err := c.SetWeights(ctx, vals[1], 9, uids, w, 0); !errors.Is(err, ErrTooManyUnrevealedCommits) {
		t.Errorf("an 11th unrevealed commit in one epoch: %v, want ErrTooManyUnrevealedCommits", err)
	}
}

// TestBeacon: the beacon's pulses are BLS signatures under its public key, published four
// per block on its schedule (Schedule.RoundAt of the block's time), and the key is the chain
// file's: another process opening the file has the same one.
func TestBeacon(t *testing.T) {
	ctx := t.Context()
	c, path := openManual(t)
	mustAdvance(t, c, 10)
	b := c.Beacon()
	for _, r := range []uint64{1, 2, 40, 41} {
		sig, err := c.Pulse(ctx, r)
		if err != nil || !timelock.Verify(b.PublicKey, r, sig) {
			t.Errorf("Pulse(%d): %v, verifies %v", r, err, err == nil && timelock.Verify(b.PublicKey, r, sig))
		}
	}
	if _, err := c.Pulse(ctx, 42); !errors.Is(err, chain.ErrNotFound) {
		t.Errorf("Pulse(42) at block 10: %v, want ErrNotFound", err)
	}
	again, err := Open(ctx, Config{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	if !bytes.Equal(again.Beacon().PublicKey.Bytes(), b.PublicKey.Bytes()) {
		t.Error("the same chain file opened twice has two beacon keys")
	}
	other, _ := openManual(t)
	if bytes.Equal(other.Beacon().PublicKey.Bytes(), b.PublicKey.Bytes()) {
		t.Error("two chain files share a beacon key")
	}
	for _, bt := range []time.Duration{time.Second, 1500 * time.Millisecond, 2 * time.Second, 12 * time.Second} {
		c, err := Open(ctx, Config{Path: filepath.Join(t.TempDir(), "c.db"), BlockTime: bt})
		if err != nil {
			t.Fatal(err)
		}
		s := c.Beacon().Schedule
		for _, blk := range []int64{0, 1, 2, 3, 17, 1000, 123456} {
			if got, want := s.RoundAt(c.blockTimeAt(blk)), publishedRound(blk); got != want {
				t.Errorf("block time %v, block %d: schedule's round %d, chain's %d", bt, blk, got, want)
			}
			for r := publishedRound(blk) - 3; r <= publishedRound(blk)+4; r++ {
				if pub := roundBlock(r) <= blk; pub != (r <= publishedRound(blk)) {
					t.Errorf("round %d at block %d: roundBlock %d", r, blk, roundBlock(r))
				}
			}
		}
		c.Close()
	}
}

// fakeClock is a settable clock for wall-clock chains.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (f *fakeClock) now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.t
}

func (f *fakeClock) add(d time.Duration) {
	f.mu.Lock()
	f.t = f.t.Add(d)
	f.mu.Unlock()
}

// TestCommitRevealFastClock is localnet's setting: 1 s blocks on the wall clock, tempo 10,
// commit-reveal on by default. A commit made at any block of an epoch is revealed within
// tempo+1 blocks (the reveal epoch is the next one; its round, that of the first block at
// least 6 blocks away less 24 rounds, is published by then), and an epoch later Yuma has
// paid the miner.
func TestCommitRevealFastClock(t *testing.T) {
	ctx := t.Context()
	clock := &fakeClock{t: time.Unix(1_760_000_000, 0)}
	c, err := Open(ctx, Config{Path: filepath.Join(t.TempDir(), "chain.db"), BlockTime: time.Second, Now: clock.now})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.CreateSubnet(ctx, 9, SubnetConfig{Tempo: 10, NoWeightsRateLimit: true}); err != nil {
		t.Fatal(err)
	}
	v, m, cold := key(t, "//V"), key(t, "//M"), key(t, "//Cold")
	for _, k := range []*wallet.Keypair{v, m} {
		if _, err := c.Register(ctx, 9, k.SS58(), cold.SS58()); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.AddStake(ctx, v.SS58(), cold.SS58(), 1e12); err != nil {
		t.Fatal(err)
	}
	clock.add(11 * time.Second) // block 11: the epoch gives the validator its permit
	for range 11 {              // commit once at every block of an epoch, waiting for each reveal
		commit, err := c.CurrentBlock(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.SetWeights(ctx, v, 9, []chain.UID{1}, []uint16{65535}, 0); err != nil {
			t.Fatalf("block %d: %v", commit, err)
		}
		for {
			clock.add(time.Second)
			ws := commitsOf(t, c, v.SS58())
			last := ws[len(ws)-1]
			if last.Status == chain.CommitPending {
				continue
			}
			if last.Status != chain.CommitRevealed || last.Resolved-commit > 11 {
				t.Fatalf("commit at block %d: %+v, want revealed within 11 blocks", commit, last)
			}
			break
		}
	}
	clock.add(11 * time.Second)
	mg, err := c.Metagraph(ctx, 9)
	if err != nil {
		t.Fatal(err)
	}
	if mg.Incentive[1] != 1 || mg.Weights[0][0].UID != 1 {
		t.Errorf("after the reveals and an epoch: miner incentive %v, validator row %v; want 1, [uid 1]", mg.Incentive[1], mg.Weights[0])
	}
}
