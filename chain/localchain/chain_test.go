package localchain

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pretrain/pretrain/chain"
	"github.com/pretrain/pretrain/wallet"
)

func TestNextEpochBlock(t *testing.T) {
	// The table in subtensor's blocks_until_next_epoch doc comment: tempo, netuid → the
	// first epoch block.
	cases := []struct {
		tempo, netuid uint16
		want          int64
	}{{1, 0, 0}, {1, 1, 1}, {2, 0, 1}, {2, 1, 0}, {100, 0, 99}, {100, 1, 98}}
	for _, c := range cases {
		if got := nextEpochBlock(c.netuid, c.tempo, 0); got != c.want {
			t.Errorf("nextEpochBlock(netuid %d, tempo %d, 0) = %d, want %d", c.netuid, c.tempo, got, c.want)
		}
		// And every tempo+1 blocks after.
		if got := nextEpochBlock(c.netuid, c.tempo, c.want+1); got != c.want+int64(c.tempo)+1 {
			t.Errorf("next after %d = %d, want %d", c.want, got, c.want+int64(c.tempo)+1)
		}
	}
}

type chainUID = chain.UID

func key(t *testing.T, uri string) *wallet.Keypair { return mustKey(t, uri) }

func mustKey(t testing.TB, uri string) *wallet.Keypair {
	t.Helper()
	k, err := wallet.FromURI(uri)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func openManual(t *testing.T) (*Chain, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "chain.db")
	c, err := Open(t.Context(), Config{Path: path, Manual: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c, path
}

func mustAdvance(t *testing.T, c *Chain, n int64) chain.Block {
	t.Helper()
	b, err := c.Advance(t.Context(), n)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestSubnetLifecycle drives a small subnet end to end: two validators, three miners,
// commitments, weights, epochs, and the metagraph after them.
func TestSubnetLifecycle(t *testing.T) {
	ctx := t.Context()
	c, path := openManual(t)
	const netuid = 9
	if err := c.CreateSubnet(ctx, netuid, SubnetConfig{Tempo: 10, MaxValidators: 2, NoWeightsRateLimit: true, CommitRateLimit: 5, NoCommitReveal: true}); err != nil {
		t.Fatal(err)
	}
	if err := c.CreateSubnet(ctx, netuid, SubnetConfig{}); !errors.Is(err, ErrSubnetExists) {
		t.Errorf("second CreateSubnet error = %v, want ErrSubnetExists", err)
	}
	cold := key(t, "//Cold")
	var hot []*wallet.Keypair
	for i, name := range []string{"//V0", "//V1", "//M2", "//M3", "//M4"} {
		hot = append(hot, key(t, name))
		uid, err := c.Register(ctx, netuid, hot[i].SS58(), cold.SS58())
		if err != nil {
			t.Fatal(err)
		}
		if int(uid) != i {
			t.Fatalf("Register(%s) uid = %d, want %d", name, uid, i)
		}
	}
	if _, err := c.Register(ctx, netuid, hot[0].SS58(), cold.SS58()); !errors.Is(err, ErrAlreadyRegistered) {
		t.Errorf("re-register error = %v, want ErrAlreadyRegistered", err)
	}
	for i, rao := range []uint64{300e9, 100e9} {
		if err := c.AddStake(ctx, hot[i].SS58(), cold.SS58(), rao); err != nil {
			t.Fatal(err)
		}
	}

	// Commitments: size bound, registration, rate limit, block recorded.
	mustAdvance(t, c, 1)
	if err := c.Commit(ctx, hot[2], netuid, strings.Repeat("x", 129)); !errors.Is(err, chain.ErrInvalid) {
		t.Errorf("129-byte commit error = %v, want ErrInvalid", err)
	}
	if err := c.Commit(ctx, key(t, "//Stranger"), netuid, "a"); !errors.Is(err, chain.ErrNotRegistered) {
		t.Errorf("unregistered commit error = %v, want ErrNotRegistered", err)
	}
	data := "myorg:my-3b:0123456789abcdef0123456789abcdef01234567:" + strings.Repeat("A", 43) + "=:2"
	if err := c.Commit(ctx, hot[2], netuid, data); err != nil {
		t.Fatal(err)
	}
	got, err := c.Commitment(ctx, netuid, hot[2].SS58())
	if err != nil {
		t.Fatal(err)
	}
	if got.Data != data || got.Block != 1 {
		t.Errorf("Commitment = %+v, want %q at block 1", got, data)
	}
	if err := c.Commit(ctx, hot[2], netuid, "again"); !errors.Is(err, chain.ErrRateLimited) {
		t.Errorf("second commit error = %v, want ErrRateLimited", err)
	}
	if _, err := c.Commitment(ctx, netuid, hot[3].SS58()); !errors.Is(err, chain.ErrNotFound) {
		t.Errorf("missing commitment error = %v, want ErrNotFound", err)
	}

	// No permits before the first epoch: only self-weights are allowed.
	if err := c.SetWeights(ctx, hot[0], netuid, []chain.UID{2}, []uint16{1}, 0); !errors.Is(err, chain.ErrInvalid) {
		t.Errorf("weights without permit error = %v, want ErrInvalid", err)
	}
	// The first epoch of netuid 9, tempo 10 runs at block 0 + (10-(0+10)%11) = 0, then 11.
	mustAdvance(t, c, 10) // head 11: epoch ran
	m, err := c.Metagraph(ctx, netuid)
	if err != nil {
		t.Fatal(err)
	}
	if want := []bool{true, true, false, false, false}; !slices.Equal(m.ValidatorPermit, want) {
		t.Fatalf("permits after first epoch = %v, want %v", m.ValidatorPermit, want)
	}
	for _, tc := range []struct {
		name string
		uids []chain.UID
		w    []uint16
		vk   uint64
	}{
		{"duplicate", []chain.UID{2, 2}, []uint16{1, 1}, 0},
		{"out of range", []chain.UID{9}, []uint16{1}, 0},
		{"length mismatch", []chain.UID{2}, []uint16{1, 2}, 0},
	} {
		if err := c.SetWeights(ctx, hot[0], netuid, tc.uids, tc.w, tc.vk); !errors.Is(err, chain.ErrInvalid) {
			t.Errorf("SetWeights %s error = %v, want ErrInvalid", tc.name, err)
		}
	}
	// V0 (75% stake) favours M2, V1 favours M3; consensus follows V0.
	if err := c.SetWeights(ctx, hot[0], netuid, []chain.UID{2, 3, 4}, []uint16{30000, 10000, 0}, 4062); err != nil {
		t.Fatal(err)
	}
	if err := c.SetWeights(ctx, hot[1], netuid, []chain.UID{2, 3}, []uint16{10000, 30000}, 4062); err != nil {
		t.Fatal(err)
	}
	m, err = c.Metagraph(ctx, netuid)
	if err != nil {
		t.Fatal(err)
	}
	// Stored max-upscaled, as subtensor: 30000→65535, 10000→round(10000·65535/30000)=21845.
	wantRow := []chain.WeightEntry{{UID: 2, Weight: 65535}, {UID: 3, Weight: 21845}, {UID: 4, Weight: 0}}
	if !slices.Equal(m.Weights[0], wantRow) {
		t.Errorf("stored weights of uid 0 = %v, want %v", m.Weights[0], wantRow)
	}
	mustAdvance(t, c, 12) // head 23: epoch at 22
	m, err = c.Metagraph(ctx, netuid)
	if err != nil {
		t.Fatal(err)
	}
	if m.Block != 23 || m.N != 5 {
		t.Errorf("metagraph block %d n %d, want 23, 5", m.Block, m.N)
	}
	if !(m.Incentive[2] > m.Incentive[3] && m.Incentive[3] > 0 && m.Incentive[4] == 0) {
		t.Errorf("incentive = %v, want M2 > M3 > M4 = 0", m.Incentive)
	}
	if !(m.Dividends[0] > m.Dividends[1] && m.Dividends[1] > 0) {
		t.Errorf("dividends = %v, want V0 > V1 > 0", m.Dividends)
	}
	var total float64
	for _, e := range m.Emission {
		total += e
	}
	// The epoch pays (tempo+1) blocks of 1 TAO, less flooring dust.
	if total > 11 || total < 11-1e-6 {
		t.Errorf("total emission = %.9f TAO, want 11", total)
	}
	if m.Stake[0] != 300 || m.LastUpdate[0] != 11 {
		t.Errorf("stake %v last update %v", m.Stake[0], m.LastUpdate[0])
	}

	// Everything survives closing and reopening the file.
	c.Close()
	c2, err := Open(ctx, Config{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	if !c2.Manual() {
		t.Error("reopened chain is not manual")
	}
	m2, err := c2.Metagraph(ctx, netuid)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(m2.Incentive, m.Incentive) || !slices.Equal(m2.Hotkeys, m.Hotkeys) || m2.Block != m.Block {
		t.Errorf("reopened metagraph differs")
	}
	if _, err := c2.Metagraph(ctx, 3); !errors.Is(err, chain.ErrNotFound) {
		t.Errorf("missing subnet error = %v, want ErrNotFound", err)
	}
}

func TestBlockHash(t *testing.T) {
	c, _ := openManual(t)
	mustAdvance(t, c, 3)
	h2, err := c.BlockHash(t.Context(), 2)
	if err != nil {
		t.Fatal(err)
	}
	h3, _ := c.BlockHash(t.Context(), 3)
	again, _ := c.BlockHash(t.Context(), 2)
	if h2 == h3 || h2 != again || h2 == (chain.Hash{}) {
		t.Errorf("hashes %v %v %v", h2, h3, again)
	}
	if _, err := c.BlockHash(t.Context(), 4); !errors.Is(err, chain.ErrNotFound) {
		t.Errorf("future block hash error = %v, want ErrNotFound", err)
	}
	other, _ := openManual(t)
	mustAdvance(t, other, 3)
	if h, _ := other.BlockHash(t.Context(), 2); h == h2 {
		t.Error("two chains share a block hash")
	}
}

// TestClock checks wall-clock blocks with an injected clock.
func TestClock(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	path := filepath.Join(t.TempDir(), "chain.db")
	c, err := Open(t.Context(), Config{Path: path, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.CreateSubnet(t.Context(), 1, SubnetConfig{Tempo: 4}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		after time.Duration
		want  chain.Block
	}{{0, 0}, {11 * time.Second, 0}, {12 * time.Second, 1}, {10 * time.Minute, 50}} {
		now = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Add(tc.after)
		got, err := c.CurrentBlock(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if got != tc.want {
			t.Errorf("CurrentBlock after %v = %d, want %d", tc.after, got, tc.want)
		}
	}
	var last int64
	if err := c.ro.QueryRow(`SELECT last_epoch_block FROM subnets WHERE netuid = 1`).Scan(&last); err != nil {
		t.Fatal(err)
	}
	// Epochs of netuid 1, tempo 4 run where (b+2) mod 5 == 4: 2, 7, ..., 47.
	if last != 47 {
		t.Errorf("last epoch block = %d, want 47", last)
	}
}

func TestSubnetConfigRoundTrip(t *testing.T) {
	c, _ := openManual(t)
	owner := key(t, "//Owner").SS58()
	want := SubnetConfig{Tempo: 99, MaxUIDs: 1024, MaxValidators: 12, Kappa: 23000, BondsPenalty: 1,
		BondsMovingAverage: 975000, ActivityCutoff: 7, StakeThreshold: 5, WeightsRateLimit: 3,
		WeightsVersionKey: 4062, MinAllowedWeights: 2, MaxWeightsLimit: 30000, CommitRateLimit: 9,
		ImmunityPeriod: 11, EmissionPerBlock: 13, OwnerHotkey: owner, Yuma3: true, LiquidAlpha: true,
		AlphaLow: 6553, AlphaHigh: 19660, AlphaSteepness: 500, NoCommitReveal: true, RevealPeriodEpochs: 3}
	if err := c.CreateSubnet(t.Context(), 2, want); err != nil {
		t.Fatal(err)
	}
	got, err := c.Subnet(t.Context(), 2)
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Errorf("Subnet = %+v\nwant %+v", got, want)
	}
	for _, bad := range []SubnetConfig{
		{MaxUIDs: 4, MaxValidators: 5},
		{BondsMovingAverage: 1_000_001},
		{OwnerHotkey: "not-an-address"},
		{AlphaLow: 2, AlphaHigh: 1},
		{RevealPeriodEpochs: maxRevealPeriod + 1},
	} {
		if err := c.CreateSubnet(t.Context(), 3, bad); err == nil {
			t.Errorf("CreateSubnet(%+v) succeeded", bad)
		}
	}
}

// TestPrune registers past MaxUIDs: the non-immune neuron with the lowest pruning score
// goes, and its uid is reused with fresh state.
func TestPrune(t *testing.T) {
	ctx := t.Context()
	c, _ := openManual(t)
	if err := c.CreateSubnet(ctx, 1, SubnetConfig{Tempo: 2, MaxUIDs: 3, MaxValidators: 1, ImmunityPeriod: 5, NoWeightsRateLimit: true, NoCommitReveal: true}); err != nil {
		t.Fatal(err)
	}
	cold := key(t, "//Cold")
	ks := []*wallet.Keypair{key(t, "//A"), key(t, "//B"), key(t, "//C"), key(t, "//D"), key(t, "//E")}
	for _, k := range ks[:3] {
		if _, err := c.Register(ctx, 1, k.SS58(), cold.SS58()); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.AddStake(ctx, ks[0].SS58(), cold.SS58(), 1e9); err != nil {
		t.Fatal(err)
	}
	mustAdvance(t, c, 3) // epoch at block 3 ((b+2) mod 3 == 2): A gets the permit
	if err := c.SetWeights(ctx, ks[0], 1, []chain.UID{1}, []uint16{1}, 0); err != nil {
		t.Fatal(err)
	}
	mustAdvance(t, c, 6) // past immunity; epochs give B incentive, C nothing
	// All immune-free; C (uid 2) has the lowest pruning score, A and B earn emission.
	uid, err := c.Register(ctx, 1, ks[3].SS58(), cold.SS58())
	if err != nil {
		t.Fatal(err)
	}
	if uid != 2 {
		t.Errorf("D replaced uid %d, want 2 (lowest pruning score)", uid)
	}
	m, err := c.Metagraph(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if m.N != 3 || m.Hotkeys[2] != ks[3].SS58() || m.Incentive[2] != 0 || len(m.Weights[2]) != 0 {
		t.Errorf("after prune: n %d hotkey %s incentive %v", m.N, m.Hotkeys[2], m.Incentive[2])
	}
	// D is immune now; E replaces the lowest-scoring non-immune neuron instead.
	uid, err = c.Register(ctx, 1, ks[4].SS58(), cold.SS58())
	if err != nil {
		t.Fatal(err)
	}
	if uid == 2 {
		t.Errorf("E replaced the immune uid 2")
	}
}

func TestSetWeightsLimits(t *testing.T) {
	ctx := t.Context()
	c, _ := openManual(t)
	if err := c.CreateSubnet(ctx, 1, SubnetConfig{Tempo: 1, MinAllowedWeights: 2, MaxWeightsLimit: 40000, WeightsRateLimit: 5, WeightsVersionKey: 7, NoCommitReveal: true}); err != nil {
		t.Fatal(err)
	}
	cold := key(t, "//Cold")
	v := key(t, "//V")
	for _, k := range []string{v.SS58(), key(t, "//M1").SS58(), key(t, "//M2").SS58()} {
		if _, err := c.Register(ctx, 1, k, cold.SS58()); err != nil {
			t.Fatal(err)
		}
	}
	c.AddStake(ctx, v.SS58(), cold.SS58(), 1e9)
	mustAdvance(t, c, 2)
	cases := []struct {
		name    string
		uids    []chain.UID
		w       []uint16
		vk      uint64
		wantErr error
	}{
		{"old version key", []chain.UID{1, 2}, []uint16{1, 1}, 6, chain.ErrInvalid},
		{"too few", []chain.UID{1}, []uint16{1}, 7, chain.ErrInvalid},
		{"above max weight", []chain.UID{1, 2}, []uint16{9, 1}, 7, chain.ErrInvalid},
		{"ok", []chain.UID{1, 2}, []uint16{1, 1}, 7, nil},
		{"rate limited", []chain.UID{1, 2}, []uint16{1, 1}, 7, chain.ErrRateLimited},
	}
	for _, tc := range cases {
		err := c.SetWeights(ctx, v, 1, tc.uids, tc.w, tc.vk)
		if (tc.wantErr == nil) != (err == nil) || (tc.wantErr != nil && !errors.Is(err, tc.wantErr)) {
			t.Errorf("%s: error %v, want %v", tc.name, err, tc.wantErr)
		}
	}
	mustAdvance(t, c, 5)
	if err := c.SetWeights(ctx, v, 1, []chain.UID{1, 2}, []uint16{1, 1}, 7); err != nil {
		t.Errorf("after the rate limit: %v", err)
	}
}

// TestWriteWaitsForLock holds the write lock from a second handle: a write then keeps
// retrying past the busy timeout until its context ends, instead of failing with
// SQLITE_BUSY at once.
func TestWriteWaitsForLock(t *testing.T) {
	c, path := openManual(t)
	other, err := Open(t.Context(), Config{Path: path, BusyTimeout: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	tx, err := c.rw.BeginTx(t.Context(), nil) // BEGIN IMMEDIATE: holds the write lock
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	_, err = other.Advance(ctx, 1)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Advance under a held lock: error %v, want DeadlineExceeded", err)
	}
	if !strings.Contains(fmt.Sprint(err), "SQLITE_BUSY") && !strings.Contains(fmt.Sprint(err), "locked") {
		t.Errorf("error %v does not name the busy database", err)
	}
	tx.Rollback()
	if _, err := other.Advance(t.Context(), 1); err != nil {
		t.Errorf("Advance after the lock is released: %v", err)
	}
}

// TestSetHyperparameters: the owner's settings replace the subnet's, are read back by
// Hyperparameters, and govern the next SetWeights.
func TestSetHyperparameters(t *testing.T) {
	c, _ := openManual(t)
	ctx := t.Context()
	if err := c.CreateSubnet(ctx, 2, SubnetConfig{Tempo: 5, NoCommitReveal: true, NoWeightsRateLimit: true}); err != nil {
		t.Fatal(err)
	}
	v, cold := key(t, "//V"), key(t, "//Cold")
	if _, err := c.Register(ctx, 2, v.SS58(), cold.SS58()); err != nil {
		t.Fatal(err)
	}
	want := chain.Hyperparameters{Tempo: 7, WeightsRateLimit: 0, MinAllowedWeights: 3, MaxWeightLimit: 1000,
		WeightsVersion: 4062, CommitRevealEnabled: false, RevealPeriodEpochs: 2}
	if err := c.SetHyperparameters(ctx, 2, want); err != nil {
		t.Fatal(err)
	}
	if got, err := c.Hyperparameters(ctx, 2); err != nil || got != want {
		t.Errorf("Hyperparameters = %+v, %v; want %+v", got, err, want)
	}
	// A self-weight passes every weight bound but the version key.
	if err := c.SetWeights(ctx, v, 2, []chain.UID{0}, []uint16{1}, 4061); !errors.Is(err, chain.ErrInvalid) {
		t.Errorf("SetWeights with version key 4061 < 4062: %v, want ErrInvalid", err)
	}
	if err := c.SetWeights(ctx, v, 2, []chain.UID{0}, []uint16{1}, 4062); err != nil {
		t.Errorf("SetWeights with version key 4062: %v", err)
	}
	for _, bad := range []chain.Hyperparameters{{Tempo: 0, RevealPeriodEpochs: 1}, {Tempo: 65535, RevealPeriodEpochs: 1},
		{Tempo: 1, WeightsVersion: 1 << 63, RevealPeriodEpochs: 1}, {Tempo: 1}, {Tempo: 1, RevealPeriodEpochs: 101}} {
		if err := c.SetHyperparameters(ctx, 2, bad); !errors.Is(err, chain.ErrInvalid) {
			t.Errorf("SetHyperparameters(%+v) error %v, want ErrInvalid", bad, err)
		}
	}
	if err := c.SetHyperparameters(ctx, 3, want); !errors.Is(err, chain.ErrNotFound) {
		t.Errorf("SetHyperparameters on a missing subnet: %v, want ErrNotFound", err)
	}
}
