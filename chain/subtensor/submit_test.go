package subtensor

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pretrain/pretrain/chain"
)

// eventCases are System.Events values encoded by @polkadot/types (testdata/gen_events.mjs).
type eventCase struct {
	Name   string
	Index  int
	Want   json.RawMessage
	Events string
}

func loadEventCases(t *testing.T) map[string]eventCase {
	b, err := os.ReadFile(filepath.Join("testdata", "events.json"))
	if err != nil {
		t.Fatal(err)
	}
	var f struct{ Cases []eventCase }
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	out := map[string]eventCase{}
	for _, c := range f.Cases {
		out[c.Name] = c
	}
	return out
}

const (
	finneyGenesis = "0x2f0555cc76fc2840a25a6ea3b9637146806f1f44b090c175ffde2a7e5ab36c03"
	inBlockHash   = "0x1111111111111111111111111111111111111111111111111111111111111111"
)

// submitNode is the metagraph capture (head 6852690, spec 343) plus a node side for
// submissions: it checks the submitted extrinsic against the polkadot.js vector of method
// (all bytes but the randomized signature equal; the signature verifies over the polkadot.js
// signing payload), then reports statuses and serves the inclusion block and its events.
func submitNode(t *testing.T, method string, statuses []any, events string, poolErr *jsonErr) *fakeNode {
	t.Helper()
	var f struct{ Vectors []extrinsicVector }
	loadJSON(t, "finney-spec343-extrinsics.generated.json.gz", &f)
	var vec *extrinsicVector
	for i := range f.Vectors {
		if f.Vectors[i].Method == method {
			vec = &f.Vectors[i]
		}
	}
	n := metagraphNode(t)
	alice := newSubkeySigner(t, "//Alice")
	n.on("system_accountNextIndex", func(p []json.RawMessage, _ func(any)) (any, *jsonErr) {
		var who string
		json.Unmarshal(p[0], &who)
		if who != alice.SS58() {
			t.Errorf("nonce asked for %s, want %s", who, alice.SS58())
		}
		return vec.Nonce, nil
	})
	n.on("chain_getBlockHash", func(p []json.RawMessage, _ func(any)) (any, *jsonErr) {
		if string(p[0]) != "0" {
			t.Errorf("chain_getBlockHash(%s), want genesis", p[0])
		}
		return finneyGenesis, nil
	})
	var submitted string
	n.on("author_submitAndWatchExtrinsic", func(p []json.RawMessage, notify func(any)) (any, *jsonErr) {
		json.Unmarshal(p[0], &submitted)
		got, want := unhex(t, submitted), unhex(t, vec.SignedExtrinsicHex)
		sig := signatureOf(t, got)
		if !verify(t, alice.PublicKey(), unhex(t, vec.SigningPayloadHex), sig) {
			t.Error("submitted signature does not verify over the polkadot.js payload")
		}
		off := bytes.Index(got, sig)
		if len(got) != len(want) || !bytes.Equal(got[:off], want[:off]) || !bytes.Equal(got[off+64:], want[off+64:]) {
			t.Errorf("submitted %x\nwant      %x (signature aside)", got, want)
		}
		if poolErr != nil {
			return nil, poolErr
		}
		for _, s := range statuses {
			notify(s)
		}
		return nil, nil
	})
	n.on("chain_getBlock", func(p []json.RawMessage, _ func(any)) (any, *jsonErr) {
		return map[string]any{"block": map[string]any{"extrinsics": []string{"0x280402000b8a8c6d0b9701", submitted}}}, nil
	})
	eventsKey := hex0x(append(twox128([]byte("System")), twox128([]byte("Events"))...))
	n.storage[eventsKey] = &events
	setCommitReveal(t, n, 9, false)
	return n
}

// setCommitReveal stores CommitRevealWeightsEnabled(netuid) (whose default is true).
func setCommitReveal(t *testing.T, n *fakeNode, netuid uint16, on bool) {
	key, _, err := metadataFixture(t, spec343V15).storageKey("SubtensorModule", "CommitRevealWeightsEnabled", appendU16(nil, netuid))
	if err != nil {
		t.Fatal(err)
	}
	v := map[bool]string{true: "0x01", false: "0x00"}[on]
	n.mu.Lock()
	n.storage[hex0x(key)] = &v
	n.mu.Unlock()
}

func TestClientSetWeights(t *testing.T) {
	ev := loadEventCases(t)
	inBlock := map[string]any{"inBlock": inBlockHash}
	for _, tc := range []struct {
		name     string
		statuses []any
		events   string
		poolErr  *jsonErr
		want     error  // sentinel, or nil for success
		contains string // in the error text
	}{
		{name: "success", statuses: []any{"ready", map[string]any{"broadcast": []string{"peer"}}, inBlock}, events: ev["success"].Events},
		{name: "finalized counts", statuses: []any{map[string]any{"finalized": inBlockHash}}, events: ev["success"].Events},
		{name: "rate limited", statuses: []any{inBlock}, events: ev["SubtensorModule.SettingWeightsTooFast"].Events,
			want: chain.ErrRateLimited, contains: "SubtensorModule.SettingWeightsTooFast"},
		{name: "not registered", statuses: []any{inBlock}, events: ev["SubtensorModule.HotKeyNotRegisteredInSubNet"].Events,
			want: chain.ErrNotRegistered, contains: "HotKeyNotRegisteredInSubNet"},
		{name: "commit reveal on", statuses: []any{inBlock}, events: ev["SubtensorModule.CommitRevealEnabled"].Events,
			want: chain.ErrInvalid, contains: "CommitRevealEnabled"},
		{name: "bad origin", statuses: []any{inBlock}, events: ev["BadOrigin"].Events, want: chain.ErrInvalid, contains: "BadOrigin"},
		{name: "no outcome event", statuses: []any{inBlock}, events: ev["no outcome"].Events, contains: "no outcome event"},
		{name: "invalid", statuses: []any{"ready", "invalid"}, contains: "invalid"},
		{name: "dropped", statuses: []any{"dropped"}, contains: "dropped"},
		{name: "pool rate limit", poolErr: &jsonErr{Code: 1010, Message: "Invalid Transaction", Data: "Custom error: 6"},
			want: chain.ErrRateLimited, contains: "Custom error: 6"},
		{name: "pool not registered", poolErr: &jsonErr{Code: 1010, Message: "Invalid Transaction", Data: "Custom error: 10"},
			want: chain.ErrNotRegistered},
		{name: "pool other", poolErr: &jsonErr{Code: 1014, Message: "Priority is too low"}, contains: "Priority is too low"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := submitNode(t, "set_weights", tc.statuses, tc.events, tc.poolErr)
			c := openFake(t, n)
			err := c.SetWeights(t.Context(), newSubkeySigner(t, "//Alice"), 9, []chain.UID{0, 1, 2}, []uint16{0, 32768, 65535}, 4062)
			if tc.want == nil && tc.contains == "" {
				if err != nil {
					t.Fatalf("SetWeights: %v", err)
				}
				return
			}
			if err == nil || (tc.want != nil && !errors.Is(err, tc.want)) || !strings.Contains(err.Error(), tc.contains) {
				t.Fatalf("SetWeights error = %v, want %v containing %q", err, tc.want, tc.contains)
			}
		})
	}
}

func TestClientCommit(t *testing.T) {
	ev := loadEventCases(t)
	var f struct {
		CommitmentString string `json:"commitment_string"`
	}
	loadJSON(t, "finney-spec343-extrinsics.generated.json.gz", &f)
	n := submitNode(t, "set_commitment", []any{"ready", map[string]any{"inBlock": inBlockHash}}, ev["success"].Events, nil)
	c := openFake(t, n)
	if err := c.Commit(t.Context(), newSubkeySigner(t, "//Alice"), 9, f.CommitmentString); err != nil {
		t.Fatal(err)
	}
	// The commitment the chain would refuse is refused before signing.
	err := c.Commit(t.Context(), newSubkeySigner(t, "//Alice"), 9, strings.Repeat("x", 129))
	if !errors.Is(err, chain.ErrInvalid) {
		t.Errorf("Commit(129 bytes) error = %v, want ErrInvalid", err)
	}
}

func TestClientInclusionTimeout(t *testing.T) {
	ev := loadEventCases(t)
	n := submitNode(t, "set_weights", []any{"ready"}, ev["success"].Events, nil)
	c, err := Open(t.Context(), Config{Endpoint: n.url(), Attempts: 1, InclusionTimeout: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	err = c.SetWeights(t.Context(), newSubkeySigner(t, "//Alice"), 9, []chain.UID{0, 1, 2}, []uint16{0, 32768, 65535}, 4062)
	if err == nil || !strings.Contains(err.Error(), "wait for inclusion") {
		t.Errorf("SetWeights error = %v, want an inclusion timeout", err)
	}
}
