package subtensor

import (
	"encoding/json"
	"math"
	"strconv"
	"testing"

	"github.com/pretrain/pretrain/chain"
)

// wantNeuron is one NeuronInfo(Lite) as @polkadot/types decoded it.
type wantNeuron struct {
	Hotkey, Coldkey            string
	UID                        int
	Active                     bool
	Stake                      [][]json.RawMessage
	Rank, Incentive, Consensus uint16
	Trust, ValidatorTrust      uint16
	Dividends                  uint16
	Emission, LastUpdate       uint64
	ValidatorPermit            bool
	PruningScore               uint16
	Weights                    [][2]uint16
}

func (w wantNeuron) stake(t *testing.T) uint64 {
	var sum uint64
	for _, p := range w.Stake {
		v, err := strconv.ParseUint(string(p[1]), 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		sum += v
	}
	return sum
}

func checkNeuron(t *testing.T, got neuron, w wantNeuron) {
	t.Helper()
	if ss58(got.Hotkey) != w.Hotkey || ss58(got.Coldkey) != w.Coldkey {
		t.Errorf("uid %d keys = %s %s, want %s %s", w.UID, ss58(got.Hotkey), ss58(got.Coldkey), w.Hotkey, w.Coldkey)
	}
	want := neuron{Hotkey: got.Hotkey, Coldkey: got.Coldkey, UID: uint16(w.UID), Active: w.Active, Stake: w.stake(t),
		Rank: w.Rank, Emission: w.Emission, Incentive: w.Incentive, Consensus: w.Consensus, Trust: w.Trust,
		ValidatorTrust: w.ValidatorTrust, Dividends: w.Dividends, LastUpdate: w.LastUpdate,
		ValidatorPermit: w.ValidatorPermit, PruningScore: w.PruningScore}
	if got != want {
		t.Errorf("neuron %d = %+v, want %+v", w.UID, got, want)
	}
}

func TestNeuronsLiteFinney(t *testing.T) {
	m := metadataFixture(t, spec343V15)
	c := loadCaptures(t)
	raw := c.result(t, "metagraph", "state_call",
		`["NeuronInfoRuntimeApi_get_neurons_lite", "0100", "0xdb13c066e2c63969f140164fb3bfe7a0aaa7b71407fc0fe525d68e57329ef9d0"]`)
	am, err := m.apiMethod("NeuronInfoRuntimeApi", "get_neurons_lite", 1)
	if err != nil {
		t.Fatal(err)
	}
	v, err := m.decodeAPIResult(am, raw)
	if err != nil {
		t.Fatal(err)
	}
	got, err := neuronsFromValue(v)
	if err != nil {
		t.Fatal(err)
	}
	var want []wantNeuron
	loadJSON(t, "finney-b6852690-netuid1-get_neurons_lite.decoded.json.gz", &want)
	if len(got) != len(want) || len(got) != 1024 {
		t.Fatalf("%d neurons, want %d (1024)", len(got), len(want))
	}
	for i := range want {
		checkNeuron(t, got[i], want[i])
	}
}

// TestNeuronFullSpec315 decodes a full NeuronInfo (weights and bonds) captured at spec 315
// with the spec-318 metadata, as the fixtures README says it decodes.
func TestNeuronFullSpec315(t *testing.T) {
	m := metadataFixture(t, spec318V15)
	c := loadCaptures(t)
	var raw []byte
	for params := range c["get_neuron_for_pubkey_and_subnet"]["state_call"] {
		raw = c.result(t, "get_neuron_for_pubkey_and_subnet", "state_call", params)
	}
	am, err := m.apiMethod("NeuronInfoRuntimeApi", "get_neuron", 2)
	if err != nil {
		t.Fatal(err)
	}
	v, err := m.decodeAPIResult(am, raw)
	if err != nil {
		t.Fatal(err)
	}
	inner, ok, err := asOption(v)
	if err != nil || !ok {
		t.Fatalf("get_neuron result: some=%v err=%v", ok, err)
	}
	got, err := neuronFromValue(inner)
	if err != nil {
		t.Fatal(err)
	}
	var misc map[string]json.RawMessage
	loadJSON(t, "finney-misc-runtime-api.decoded.json.gz", &misc)
	var want wantNeuron
	if err := json.Unmarshal(misc["get_neuron_netuid14_uid29_spec315"], &want); err != nil {
		t.Fatal(err)
	}
	checkNeuron(t, got, want)
	rows, err := weightRowFromNeuron(inner)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != len(want.Weights) {
		t.Fatalf("%d weights, want %d", len(rows), len(want.Weights))
	}
	for i, w := range want.Weights {
		if rows[i] != (chain.WeightEntry{UID: chain.UID(w[0]), Weight: w[1]}) {
			t.Errorf("weights[%d] = %v, want %v", i, rows[i], w)
		}
	}
}

func TestBuildMetagraphFinney(t *testing.T) {
	m := metadataFixture(t, spec343V15)
	c := loadCaptures(t)
	hash := "0xdb13c066e2c63969f140164fb3bfe7a0aaa7b71407fc0fe525d68e57329ef9d0"
	lite, _ := m.apiMethod("NeuronInfoRuntimeApi", "get_neurons_lite", 1)
	v, err := m.decodeAPIResult(lite, c.result(t, "metagraph", "state_call", `["NeuronInfoRuntimeApi_get_neurons_lite", "0100", "`+hash+`"]`))
	if err != nil {
		t.Fatal(err)
	}
	ns, err := neuronsFromValue(v)
	if err != nil {
		t.Fatal(err)
	}
	state, _ := m.apiMethod("SubnetInfoRuntimeApi", "get_subnet_state", 1)
	sv, err := m.decodeAPIResult(state, c.result(t, "metagraph", "state_call", `["SubnetInfoRuntimeApi_get_subnet_state", "0100", "`+hash+`"]`))
	if err != nil {
		t.Fatal(err)
	}
	total, err := totalStakeFromState(sv)
	if err != nil {
		t.Fatal(err)
	}
	var want struct {
		Hotkeys    []string
		TotalStake []uint64
	}
	loadJSON(t, "finney-b6852690-netuid1-get_subnet_state.decoded.json.gz", &want)
	rows := weightRows{10: {{UID: 3, Weight: 65535}}, 5000: {{UID: 1, Weight: 1}}}
	mg, err := buildMetagraph(1, 6852690, ns, total, rows)
	if err != nil {
		t.Fatal(err)
	}
	if mg.N != 1024 || mg.Block != 6852690 || len(want.TotalStake) != 1024 {
		t.Fatalf("N=%d block=%d, want 1024 6852690 (fixture %d)", mg.N, mg.Block, len(want.TotalStake))
	}
	for i := range mg.N {
		if mg.Hotkeys[i] != want.Hotkeys[i] {
			t.Errorf("hotkey[%d] = %s, want %s (subnet state)", i, mg.Hotkeys[i], want.Hotkeys[i])
		}
		if s := float64(want.TotalStake[i]) / 1e9; mg.Stake[i] != s {
			t.Errorf("S[%d] = %v, want %v", i, mg.Stake[i], s)
		}
	}
	// Spot values from the fixtures README: 12 validator permits; only uid 395 has incentive.
	permits := 0
	for uid, p := range mg.ValidatorPermit {
		if p {
			permits++
		}
		if wantI := map[bool]float64{true: 1, false: 0}[uid == 395]; mg.Incentive[uid] != wantI {
			t.Errorf("I[%d] = %v, want %v", uid, mg.Incentive[uid], wantI)
		}
	}
	if permits != 12 {
		t.Errorf("%d validator permits, want 12", permits)
	}
	if got := mg.Dividends[24]; math.Abs(got-2244.0/65535) > 1e-15 {
		t.Errorf("D[24] = %v, want 2244/65535", got)
	}
	if len(mg.Weights[10]) != 1 || mg.Weights[10][0].UID != 3 || len(mg.Weights[11]) != 0 {
		t.Errorf("weights rows = %v / %v", mg.Weights[10], mg.Weights[11])
	}
}

// TestNeuronsLiteWrappedSpec208 decodes a 2024 (spec 208) get_neurons_lite result, which
// runtimes then wrapped in a Vec<u8>; the struct inside has the spec-343 layout.
func TestNeuronsLiteWrappedSpec208(t *testing.T) {
	m := metadataFixture(t, spec343V15)
	raw := loadCaptures(t).result(t, "neurons_lite", "state_call", `["NeuronInfoRuntimeApi_get_neurons_lite", "0x1700"]`)
	am, _ := m.apiMethod("NeuronInfoRuntimeApi", "get_neurons_lite", 1)
	v, err := m.decodeAPIResult(am, raw)
	if err != nil {
		t.Fatal(err)
	}
	got, err := neuronsFromValue(v)
	if err != nil {
		t.Fatal(err)
	}
	var want []wantNeuron
	loadJSON(t, "finney-b3264157-netuid23-get_neurons_lite-spec208.decoded.json.gz", &want)
	if len(got) != len(want) || len(got) != 19 {
		t.Fatalf("%d neurons, want %d (19)", len(got), len(want))
	}
	for i := range want {
		checkNeuron(t, got[i], want[i])
	}
}

// weightRowFromNeuron reads (in tests: the client reads rows from storage) a full NeuronInfo's weights: Vec<(Compact<u16>, Compact<u16>)>.
func weightRowFromNeuron(v any) ([]chain.WeightEntry, error) {
	f, err := field(v, "weights")
	if err != nil {
		return nil, err
	}
	return weightRow(f)
}
