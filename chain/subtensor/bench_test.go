package subtensor

import (
	"testing"

	"github.com/pretrain/pretrain/chain"
)

func BenchmarkParseMetadataV15(b *testing.B) {
	blob := readGz(b, spec343V15)
	b.SetBytes(int64(len(blob)))
	for b.Loop() {
		if _, err := ParseMetadata(blob); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkNeuronsLite1024 decodes finney netuid 1's 1024 neurons (186 KB) and builds the
// metagraph, the per-step CPU cost of a metagraph read.
func BenchmarkNeuronsLite1024(b *testing.B) {
	m := metadataFixture(b, spec343V15)
	am, _ := m.apiMethod("NeuronInfoRuntimeApi", "get_neurons_lite", 1)
	raw := loadCaptures(b).result(b, "metagraph", "state_call",
		`["NeuronInfoRuntimeApi_get_neurons_lite", "0100", "`+b6852690+`"]`)
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		v, err := m.decodeAPIResult(am, raw)
		if err != nil {
			b.Fatal(err)
		}
		ns, err := neuronsFromValue(v)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := buildMetagraph(1, 1, ns, nil, nil); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSignSetWeights256(b *testing.B) {
	m := metadataFixture(b, spec343V15)
	alice := newSubkeySigner(b, "//Alice")
	uids := make([]chain.UID, 256)
	ws := make([]uint16, 256)
	for i := range uids {
		uids[i], ws[i] = chain.UID(i), uint16(i*255)
	}
	for b.Loop() {
		call, err := m.setWeightsCall(9, uids, ws, 4062)
		if err != nil {
			b.Fatal(err)
		}
		if _, _, err := m.signedExtrinsic(call, alice, txParams{SpecVersion: 343, TxVersion: 1, Period: 64, Current: 1000}); err != nil {
			b.Fatal(err)
		}
	}
}
