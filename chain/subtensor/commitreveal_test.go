package subtensor

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/pretrain/pretrain/chain"
	"github.com/pretrain/pretrain/chain/timelock"
)

// TestCommitTimelockedWeightsCall decodes the encoded call with each runtime's own types
// for its arguments (the metadata's layout), and checks the call index (7/113 in all).
func TestCommitTimelockedWeightsCall(t *testing.T) {
	commit := bytes.Repeat([]byte{0xab}, 300) // long enough for a two-byte compact length
	for _, name := range []string{spec318V15, spec343V15, "metadata-spec365-v16.scale.gz", "metadata-spec393-v16.scale.gz"} {
		t.Run(name, func(t *testing.T) {
			m := metadataFixture(t, name)
			call, err := m.commitTimelockedWeightsCall(9, commit, 123456789, 4)
			if err != nil {
				t.Fatal(err)
			}
			if call[0] != 7 || call[1] != 113 {
				t.Errorf("call index = %d/%d, want 7/113", call[0], call[1])
			}
			_, _, fields, _ := m.Call("SubtensorModule", "commit_timelocked_weights")
			d := newDecoder(call[2:])
			d.budget = 1 << 20
			var got []any
			for _, f := range fields {
				got = append(got, m.decode(d, f.Type, 0))
			}
			if err := d.done(); err != nil {
				t.Fatalf("decode call arguments: %v", err)
			}
			want := []any{uint64(9), commit, uint64(123456789), uint64(4)}
			for i := range want {
				g := got[i]
				if u, err := asUint(g); err == nil {
					g = u
				} else if b, err := asBytes(g); err == nil {
					g = b
				}
				if !reflect.DeepEqual(g, want[i]) {
					t.Errorf("argument %s = %v, want %v", fields[i].Name, g, want[i])
				}
			}
		})
	}
}

// putStorage sets a SubtensorModule storage value in the fake node.
func putStorage(t *testing.T, n *fakeNode, item string, value string, parts ...[]byte) {
	t.Helper()
	key, _, err := metadataFixture(t, spec343V15).storageKey("SubtensorModule", item, parts...)
	if err != nil {
		t.Fatal(err)
	}
	n.mu.Lock()
	n.storage[hex0x(key)] = &value
	n.mu.Unlock()
}

// TestClientCommitReveal: with commit-reveal on (explicitly, or by the storage default),
// SetWeights submits commit_timelocked_weights whose ciphertext opens, with the signature
// of the reveal round it names, to the weights' WeightsTlockPayload.
func TestClientCommitReveal(t *testing.T) {
	ev := loadEventCases(t)
	beacon := timelock.NewSecretKey([]byte("subtensor commit-reveal test beacon"))
	pub := beacon.PublicKey()
	alice := newSubkeySigner(t, "//Alice")
	uids, weights := []chain.UID{0, 1, 2}, []uint16{0, 32768, 65535}
	const head = 6852690 // the capture's best block
	for _, tc := range []struct {
		name  string
		unset bool
	}{{"on", false}, {"default", true}} {
		t.Run(tc.name, func(t *testing.T) {
			n := submitNode(t, "set_weights", nil, ev["success"].Events, nil)
			if tc.unset {
				key, _, _ := metadataFixture(t, spec343V15).storageKey("SubtensorModule", "CommitRevealWeightsEnabled", appendU16(nil, 9))
				n.mu.Lock()
				delete(n.storage, hex0x(key))
				n.mu.Unlock()
			} else {
				setCommitReveal(t, n, 9, true)
			}
			putStorage(t, n, "Tempo", "0x6300", appendU16(nil, 9))                          // 99
			putStorage(t, n, "RevealPeriodEpochs", "0x0200000000000000", appendU16(nil, 9)) // 2
			putStorage(t, n, "CommitRevealWeightsVersion", "0x0400")                        // 4

			var submitted string
			var checkErr error
			n.on("author_submitAndWatchExtrinsic", func(p []json.RawMessage, notify func(any)) (any, *jsonErr) {
				json.Unmarshal(p[0], &submitted)
				checkErr = checkCommit(t, unhex(t, submitted), beacon,
					timelock.WeightsPayload{Hotkey: alice.PublicKey(), UIDs: uids, Values: weights, VersionKey: 4062}.Encode())
				notify(map[string]any{"inBlock": inBlockHash})
				return nil, nil
			})
			n.on("chain_getBlock", func(p []json.RawMessage, _ func(any)) (any, *jsonErr) {
				return map[string]any{"block": map[string]any{"extrinsics": []string{"0x280402000b8a8c6d0b9701", submitted}}}, nil
			})
			c := openFake(t, n)
			c.beacon = &pub
			at := timelock.CommitTime{Now: time.Now(), BlockTime: 12 * time.Second, Block: head, NetUID: 9, Tempo: 99, RevealPeriod: 2}
			before := timelock.RevealRound(timelock.QuicknetSchedule, at)
			if err := c.SetWeights(t.Context(), alice, 9, uids, weights, 4062); err != nil {
				t.Fatalf("SetWeights: %v", err)
			}
			at.Now = time.Now()
			after := timelock.RevealRound(timelock.QuicknetSchedule, at)
			if submitted == "" {
				t.Fatal("nothing submitted")
			}
			if checkErr != nil {
				t.Fatal(checkErr)
			}
			round := commitRound(unhex(t, submitted))
			if round < before || round > after {
				t.Errorf("reveal round %d, want in [%d, %d]", round, before, after)
			}
		})
	}
}

// commitCall finds commit_timelocked_weights(9, …) in a signed extrinsic: the call follows
// the signature and the few bytes of signed extensions.
func commitCall(xt []byte) []byte {
	const sigEnd = 2 + 1 + 32 + 1 + 64 // compact(len) is 2 bytes for these sizes
	i := bytes.Index(xt[sigEnd:], []byte{7, 113, 9, 0})
	if i < 0 || i > 16 {
		return nil
	}
	return xt[sigEnd+i:]
}

func commitRound(xt []byte) uint64 {
	call := commitCall(xt)
	if len(call) < 10 {
		return 0
	}
	d := newDecoder(call[4:])
	n := d.compact()
	d.bytes(int(min(n, math.MaxInt32)))
	return d.u64()
}

// checkCommit decodes the submitted commit call and opens its ciphertext.
func checkCommit(t *testing.T, xt []byte, beacon timelock.SecretKey, payload []byte) error {
	call := commitCall(xt)
	if call == nil {
		return fmt.Errorf("no commit_timelocked_weights(9, …) call in %x", xt)
	}
	d := newDecoder(call[4:])
	n := d.compact()
	ct := d.bytes(int(min(n, math.MaxInt32)))
	round := d.u64()
	version := d.u16()
	if err := d.done(); err != nil {
		return fmt.Errorf("commit call %x: %v", call, err)
	}
	if version != 4 {
		return fmt.Errorf("commit_reveal_version = %d, want 4", version)
	}
	sig, err := beacon.Sign(round)
	if err != nil {
		return err
	}
	got, err := timelock.Decrypt(ct, sig)
	if err != nil {
		return fmt.Errorf("open commit for round %d: %v", round, err)
	}
	if !bytes.Equal(got, payload) {
		return fmt.Errorf("committed payload %x, want %x", got, payload)
	}
	return nil
}

// TestClientWeightCommits reads TimelockedWeightCommits values encoded by hand (SCALE:
// compact count, then (AccountId32, u64 commit block, Vec<u8> commit, u64 reveal round)
// tuples) under two epochs of netuid 1: Alice's commits, oldest first, and none of Bob's.
func TestClientWeightCommits(t *testing.T) {
	n := metagraphNode(t)
	alice, bob := newSubkeySigner(t, "//Alice"), newSubkeySigner(t, "//Bob")
	entry := func(who [32]byte, block uint64, commit []byte, round uint64) string {
		b := append([]byte(nil), who[:]...)
		b = appendU64(b, block)
		b = append(b, byte(len(commit)<<2))
		b = append(b, commit...)
		return hex.EncodeToString(appendU64(b, round))
	}
	epoch := func(e uint64) []byte { return appendU64(nil, e) }
	putStorage(t, n, "TimelockedWeightCommits", "0x08"+entry(bob.PublicKey(), 6852600, []byte{1, 2}, 900)+
		entry(alice.PublicKey(), 6852610, []byte{3}, 901), appendU16(nil, 1), epoch(19000))
	putStorage(t, n, "TimelockedWeightCommits", "0x04"+entry(alice.PublicKey(), 6852500, nil, 800), appendU16(nil, 1), epoch(18999))
	putStorage(t, n, "TimelockedWeightCommits", "0x04"+entry(alice.PublicKey(), 6852000, nil, 700), appendU16(nil, 2), epoch(18999))
	c := openFake(t, n)
	got, err := c.WeightCommits(t.Context(), 1, alice.SS58())
	if err != nil {
		t.Fatal(err)
	}
	want := []chain.WeightCommit{
		{Block: 6852500, RevealRound: 800, Status: chain.CommitPending},
		{Block: 6852610, RevealRound: 901, Status: chain.CommitPending},
	}
	if !slices.Equal(got, want) {
		t.Errorf("WeightCommits(1, Alice) = %+v, want %+v", got, want)
	}
	if got, err := c.WeightCommits(t.Context(), 3, alice.SS58()); err != nil || len(got) != 0 {
		t.Errorf("WeightCommits(3, Alice) = %+v, %v; want none", got, err)
	}
	putStorage(t, n, "TimelockedWeightCommits", "0x04"+entry(alice.PublicKey(), 1, nil, 1)[:20], appendU16(nil, 1), epoch(1))
	if _, err := c.WeightCommits(t.Context(), 1, alice.SS58()); err == nil {
		t.Error("a truncated TimelockedWeightCommits value was accepted")
	}
}
