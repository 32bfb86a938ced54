package subtensor

import (
	"encoding/json"
	"testing"
)

// Untrusted input from the node: metadata, runtime-API results, storage values (the
// commitment fuzzer is in commitment_test.go) and extrinsic status updates. Each must
// return an error, never panic, and never allocate beyond its size.

func FuzzParseMetadata(f *testing.F) {
	// Minimal V14 and V15 blobs: no types, no pallets, extrinsic v4, no extensions.
	f.Add([]byte("meta\x0e\x00\x00\x00\x04\x00\x00"))
	f.Add([]byte("meta\x0f\x00\x00\x04\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"))
	full := readGz(f, spec343V14)
	f.Add(full[:4096])
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ParseMetadata(b)
		if err != nil {
			return
		}
		// Whatever parsed must decode arbitrary bytes as any of its types without panicking.
		for id := range min(len(m.Types), 64) {
			m.DecodeValue(uint32(id), b)
		}
		m.extensions(txParams{})
	})
}

func FuzzDecodeNeurons(f *testing.F) {
	m := metadataFixture(f, spec343V15)
	am, err := m.apiMethod("NeuronInfoRuntimeApi", "get_neurons_lite", 1)
	if err != nil {
		f.Fatal(err)
	}
	c := loadCaptures(f)
	raw := c.result(f, "metagraph", "state_call",
		`["NeuronInfoRuntimeApi_get_neurons_lite", "0100", "0xdb13c066e2c63969f140164fb3bfe7a0aaa7b71407fc0fe525d68e57329ef9d0"]`)
	f.Add(raw[:2000])
	f.Add([]byte{0x04})
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := m.decodeAPIResult(am, b)
		if err != nil {
			return
		}
		if ns, err := neuronsFromValue(v); err == nil {
			buildMetagraph(1, 1, ns, nil, nil)
		}
	})
}

func FuzzDecodeEvents(f *testing.F) {
	m := metadataFixture(f, spec343V15)
	_, e, err := m.StorageEntry("System", "Events")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(unhex(f, "0800000000000000a10f280001000001000000000103071c000000a10f28000100"))
	f.Add(unhex(f, "0c00000000000000a10f2800010000010000000705090003000000010000000000a10f28000100"))
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := m.DecodeValue(e.Value, b)
		if err != nil {
			return
		}
		extrinsicResult(m, v, 1, [32]byte{})
	})
}

func FuzzParseStatus(f *testing.F) {
	for _, s := range []string{`"ready"`, `{"inBlock":"0x1111111111111111111111111111111111111111111111111111111111111111"}`,
		`{"broadcast":["a"]}`, `{"inBlock":"0x12"}`, `[]`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		st, _, err := parseStatus(json.RawMessage(b))
		if err == nil && st == "" && json.Valid(b) {
			var s string
			if json.Unmarshal(b, &s) != nil {
				t.Errorf("parseStatus(%s) = empty status without error", b)
			}
		}
	})
}
