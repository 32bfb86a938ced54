package subtensor

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pretrain/pretrain/chain"
)

const b6852690 = "0xdb13c066e2c63969f140164fb3bfe7a0aaa7b71407fc0fe525d68e57329ef9d0"

func openFake(t *testing.T, n *fakeNode) *Client {
	t.Helper()
	c, err := Open(t.Context(), Config{Endpoint: n.url(), Attempts: 1, CallTimeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// metagraphNode serves the finney "metagraph" capture (block 6852690, spec 343) with the
// spec-343 V15 metadata.
func metagraphNode(t *testing.T) *fakeNode {
	n := newFakeNode(t, loadCaptures(t), "metagraph")
	n.serveMetadata(readGz(t, spec343V15))
	return n
}

func TestClientMetagraphFinney(t *testing.T) {
	n := metagraphNode(t)
	m := metadataFixture(t, spec343V15)
	// No Weights rows of netuid 1 were captured (commit-reveal was on). Place two rows under
	// netuid 1: the captured value of Weights[23,10] and a row with a zero weight, which the
	// chain's NeuronInfo drops.
	k24, _, _ := m.storageKey("SubtensorModule", "Weights", appendU16(nil, 1), appendU16(nil, 24))
	k5, _, _ := m.storageKey("SubtensorModule", "Weights", appendU16(nil, 1), appendU16(nil, 5))
	v24, v5 := "0x040a00ffff", "0x08030000000400ff00"
	n.storage[hex0x(k24)], n.storage[hex0x(k5)] = &v24, &v5

	c := openFake(t, n)
	mg, err := c.Metagraph(t.Context(), 1)
	if err != nil {
		t.Fatal(err)
	}
	var want []wantNeuron
	loadJSON(t, "finney-b6852690-netuid1-get_neurons_lite.decoded.json.gz", &want)
	var state struct{ TotalStake []uint64 }
	loadJSON(t, "finney-b6852690-netuid1-get_subnet_state.decoded.json.gz", &state)
	if mg.N != 1024 || mg.Block != 6852690 || mg.NetUID != 1 {
		t.Fatalf("metagraph N=%d block=%d netuid=%d, want 1024 6852690 1", mg.N, mg.Block, mg.NetUID)
	}
	for i, w := range want {
		if mg.Hotkeys[i] != w.Hotkey || mg.Coldkeys[i] != w.Coldkey || mg.ValidatorPermit[i] != w.ValidatorPermit ||
			mg.LastUpdate[i] != chain.Block(w.LastUpdate) || mg.Emission[i] != float64(w.Emission)/1e9 ||
			mg.ValidatorTrust[i] != float64(w.ValidatorTrust)/65535 || mg.Stake[i] != float64(state.TotalStake[i])/1e9 {
			t.Errorf("uid %d differs from the decoded fixtures", i)
		}
	}
	if got := mg.Weights[24]; len(got) != 1 || got[0] != (chain.WeightEntry{UID: 10, Weight: 65535}) {
		t.Errorf("weights[24] = %v, want [{10 65535}]", got)
	}
	if got := mg.Weights[5]; len(got) != 1 || got[0] != (chain.WeightEntry{UID: 4, Weight: 255}) {
		t.Errorf("weights[5] = %v, want [{4 255}] (zero weight dropped)", got)
	}
	if len(mg.Weights[0]) != 0 {
		t.Errorf("weights[0] = %v, want none", mg.Weights[0])
	}
}

func TestClientMetagraphMissingSubnet(t *testing.T) {
	n := metagraphNode(t)
	n.on("state_call", func(params []json.RawMessage, _ func(any)) (any, *jsonErr) {
		var name string
		json.Unmarshal(params[0], &name)
		switch name {
		case "Metadata_metadata_at_version":
			return hex0x(readGz(t, spec343V15)), nil
		case "SubnetInfoRuntimeApi_get_subnet_state":
			return "0x00", nil // None: what the runtime answers for an unknown netuid
		}
		return nil, &jsonErr{Code: -32601, Message: "unexpected " + name}
	})
	c := openFake(t, n)
	if _, err := c.Metagraph(t.Context(), 77); !errors.Is(err, chain.ErrNotFound) {
		t.Errorf("Metagraph(77) error = %v, want ErrNotFound", err)
	}
}

func TestClientBlocks(t *testing.T) {
	c := loadCaptures(t)
	cur := newFakeNode(t, c, "get_current_block")
	b, err := openFake(t, cur).CurrentBlock(t.Context())
	if err != nil || b != 6522038 { // bittensor's integration test asserts 6522038
		t.Errorf("CurrentBlock = %d, %v, want 6522038", b, err)
	}
	hn := newFakeNode(t, c, "get_block_hash")
	client := openFake(t, hn)
	h, err := client.BlockHash(t.Context(), 6522038)
	if err != nil || h.String() != "0x4f0bbe5e96a78ca4cc1df9a7e757d335165d6d71c545cf6eb4794986424bcd29" {
		t.Errorf("BlockHash(6522038) = %s, %v", h, err)
	}
	hn.on("chain_getBlockHash", func([]json.RawMessage, func(any)) (any, *jsonErr) { return nil, nil })
	if _, err := client.BlockHash(t.Context(), 99_000_000); !errors.Is(err, chain.ErrNotFound) {
		t.Errorf("BlockHash(future) error = %v, want ErrNotFound", err)
	}
	if _, err := client.BlockHash(t.Context(), -1); !errors.Is(err, chain.ErrNotFound) {
		t.Errorf("BlockHash(-1) error = %v, want ErrNotFound", err)
	}
}

func TestClientCommitment(t *testing.T) {
	n := metagraphNode(t)
	var f struct {
		Entries []struct {
			HotkeySS58 string `json:"hotkey_ss58"`
			StorageKey string `json:"storage_key_computed"`
			ValueHex   string `json:"value_hex"`
		}
	}
	loadJSON(t, "finney-b6852690-netuid1-CommitmentOf-values.json.gz", &f)
	for _, e := range f.Entries { // real values, stored under their computed keys
		v := e.ValueHex
		n.storage[e.StorageKey] = &v
	}
	c := openFake(t, n)
	got, err := c.Commitment(t.Context(), 1, "5F4tQyWrhfGVcNhoqeiNsR6KjD4wMZ2kfhLj4oHYuyHbZAc3")
	if err != nil || got != (chain.Commitment{Data: "cat", Block: 5771778}) {
		t.Errorf("Commitment = %+v, %v, want {cat 5771778}", got, err)
	}
	got, err = c.Commitment(t.Context(), 1, "5HEo565WAy4Dbq3Sv271SAi7syBSofyfhhwRNjFNSM2gP9M2")
	if err != nil || got.Block != 5097676 || !strings.HasPrefix(got.Data, "{'peer_id': '12D3KooW") {
		t.Errorf("Commitment = %+v, %v", got, err)
	}
	// Same hotkey, other subnet: no value stored.
	if _, err := c.Commitment(t.Context(), 9, "5F4tQyWrhfGVcNhoqeiNsR6KjD4wMZ2kfhLj4oHYuyHbZAc3"); !errors.Is(err, chain.ErrNotFound) {
		t.Errorf("Commitment(9, ...) error = %v, want ErrNotFound", err)
	}
	if _, err := c.Commitment(t.Context(), 1, "not-an-address"); err == nil {
		t.Error("Commitment with a bad address: no error")
	}
}

func TestClientNodeErrorNotRetried(t *testing.T) {
	n := newFakeNode(t, loadCaptures(t), "get_current_block")
	var calls atomic.Int64
	n.on("chain_getHeader", func([]json.RawMessage, func(any)) (any, *jsonErr) {
		calls.Add(1)
		return nil, &jsonErr{Code: -32000, Message: "boom", Data: "detail"}
	})
	c, err := Open(t.Context(), Config{Endpoint: n.url(), Attempts: 5, Backoff: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, err = c.CurrentBlock(t.Context())
	var re *RPCError
	if !errors.As(err, &re) || re.Code != -32000 || re.Data != "detail" || calls.Load() != 1 {
		t.Errorf("CurrentBlock error = %v (calls %d), want one RPCError -32000 with data", err, calls.Load())
	}
}

func TestOpenUnreachable(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	// A closed loopback port: the dial fails at once; attempts are bounded.
	n := newFakeNode(t, captures{}, "none")
	u := n.url()
	n.srv.Close()
	if _, err := Open(ctx, Config{Endpoint: u, Attempts: 2, Backoff: time.Millisecond}); err == nil {
		t.Error("Open of a closed port: no error")
	}
}

// TestClientWeightsCapture reads Weights of netuid 23 through state_getKeysPaged and
// state_queryStorageAt, answered with bittensor's captured traffic (seed "weights", spec
// 208): one row, uid 10 -> [(10, 65535)].
func TestClientWeightsCapture(t *testing.T) {
	n := newFakeNode(t, loadCaptures(t), "weights")
	c := openFake(t, n)
	at, _ := chain.ParseHash("0x1b3f85dc8c83cada6d1782c955973a509a37c62af3d6ba29f5fd816aee37eb3b")
	rows, err := c.weights(t.Context(), metadataFixture(t, spec343V15), at, 23)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 || len(rows[10]) != 1 || rows[10][0] != (chain.WeightEntry{UID: 10, Weight: 65535}) {
		t.Errorf("weights = %v, want {10: [{10 65535}]}", rows)
	}
}

// TestClientRuntimeUpgrade: metadata is fetched once per spec version and again after the
// runtime version changes.
func TestClientRuntimeUpgrade(t *testing.T) {
	n := newFakeNode(t, loadCaptures(t), "metagraph")
	var spec, fetches atomic.Int64 // written by the test, read by the server goroutine
	spec.Store(343)
	blobs := map[int64][]byte{343: readGz(t, spec343V15), 318: readGz(t, spec318V15)}
	n.on("state_getRuntimeVersion", func([]json.RawMessage, func(any)) (any, *jsonErr) {
		return map[string]any{"specName": "node-subtensor", "specVersion": spec.Load(), "transactionVersion": 1}, nil
	})
	n.on("state_call", func(params []json.RawMessage, _ func(any)) (any, *jsonErr) {
		fetches.Add(1)
		return hex0x(blobs[spec.Load()]), nil
	})
	c := openFake(t, n)
	for i := range 2 {
		rt, err := c.runtimeAt(t.Context(), nil)
		if err != nil || rt.version.SpecVersion != 343 || fetches.Load() != 1 {
			t.Fatalf("call %d: %v, %d fetches, %v; want spec 343, 1 fetch", i, rt, fetches.Load(), err)
		}
	}
	spec.Store(318)
	rt, err := c.runtimeAt(t.Context(), nil)
	if err != nil || rt.version.SpecVersion != 318 || fetches.Load() != 2 || len(rt.meta.Types) == len(metadataFixture(t, spec343V15).Types) {
		t.Fatalf("after upgrade: %d fetches, %v; want spec 318 metadata", fetches.Load(), err)
	}
}
