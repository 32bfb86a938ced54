package subtensor

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"testing"
	"time"

	"github.com/pretrain/pretrain/chain"
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

func TestRevealRound(t *testing.T) {
	t0 := time.Unix(quicknetGenesis+3_000_000, 0) // round 1,000,001 begins
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
			if got := revealRound(tc.now, 12*time.Second, tc.block, tc.netuid, tc.tempo, tc.period); got != tc.round {
				t.Errorf("revealRound(%v, %d, %d, %d, %d) = %d, want %d", tc.now.Unix(), tc.block, tc.netuid, tc.tempo, tc.period, got, tc.round)
			}
		})
	}
	// Fast blocks (250 ms): 109 blocks are 27.25 s, under the 72 s pulse delay; epochs move
	// on to 1311 (311 blocks, 77.75 s): ceil((3e6+77.75)/3) - 24.
	if got, want := revealRound(t0, 250*time.Millisecond, 1000, 1, 100, 2), uint64(1_000_026-24); got != want {
		t.Errorf("revealRound with 250 ms blocks = %d, want %d", got, want)
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
	beacon := newTestBeacon()
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
				checkErr = checkCommit(t, unhex(t, submitted), beacon, weightsTlockPayload(alice.PublicKey(), uids, weights, 4062))
				notify(map[string]any{"inBlock": inBlockHash})
				return nil, nil
			})
			n.on("chain_getBlock", func(p []json.RawMessage, _ func(any)) (any, *jsonErr) {
				return map[string]any{"block": map[string]any{"extrinsics": []string{"0x280402000b8a8c6d0b9701", submitted}}}, nil
			})
			c := openFake(t, n)
			c.beacon = &beacon.pub
			before := revealRound(time.Now(), 12*time.Second, head, 9, 99, 2)
			if err := c.SetWeights(t.Context(), alice, 9, uids, weights, 4062); err != nil {
				t.Fatalf("SetWeights: %v", err)
			}
			after := revealRound(time.Now(), 12*time.Second, head, 9, 99, 2)
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
func checkCommit(t *testing.T, xt []byte, beacon testBeacon, payload []byte) error {
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
	sig := beacon.signature(t, round)
	got, err := tlockDecrypt(ct, &sig)
	if err != nil {
		return fmt.Errorf("open commit for round %d: %v", round, err)
	}
	if !bytes.Equal(got, payload) {
		return fmt.Errorf("committed payload %x, want %x", got, payload)
	}
	return nil
}
