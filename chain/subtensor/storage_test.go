package subtensor

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"testing"
)

// TestStorageCaptures rebuilds the key of every captured finney storage query from its
// decoded arguments with the spec-343 metadata's hashers, and decodes every captured value
// whose decoded form is a number, bool or list (finney-storage-captures.decoded.json,
// decoded there with @polkadot/types).
func TestStorageCaptures(t *testing.T) {
	m := metadataFixture(t, spec343V15)
	var entries []struct {
		Key     string
		Storage *struct {
			Pallet, Item string
			Args         []struct{ Value json.RawMessage }
		}
		ValueHex *string `json:"value_hex"`
		Decoded  *struct {
			Value json.RawMessage
			Exact bool
		}
	}
	loadJSON(t, "finney-storage-captures.decoded.json.gz", &entries)
	keys, values := 0, 0
	for i, e := range entries {
		if e.Storage == nil {
			continue
		}
		name := fmt.Sprintf("%d/%s.%s", i, e.Storage.Pallet, e.Storage.Item)
		_, se, err := m.StorageEntry(e.Storage.Pallet, e.Storage.Item)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		parts := keyPartTypes(m, se)
		if len(parts) != len(e.Storage.Args) {
			t.Errorf("%s: %d key parts, capture has %d", name, len(parts), len(e.Storage.Args))
			continue
		}
		var enc [][]byte
		for j, a := range e.Storage.Args {
			enc = append(enc, encodeKeyArg(t, m, parts[j], a.Value))
		}
		key, _, err := m.storageKey(e.Storage.Pallet, e.Storage.Item, enc...)
		if err != nil {
			t.Fatal(err)
		}
		if got := "0x" + hex.EncodeToString(key); got != e.Key {
			t.Errorf("%s key = %s, want %s", name, got, e.Key)
		}
		keys++
		if e.ValueHex == nil || e.Decoded == nil || !e.Decoded.Exact {
			continue
		}
		var want any
		json.Unmarshal(e.Decoded.Value, &want)
		switch want.(type) {
		case float64, bool, []any:
		default:
			continue
		}
		v, err := m.DecodeValue(se.Value, unhex(t, *e.ValueHex))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		got, _ := json.Marshal(v)
		wantJSON, _ := json.Marshal(want)
		if string(got) != string(wantJSON) {
			t.Errorf("%s value = %s, want %s", name, got, wantJSON)
		}
		values++
	}
	if keys < 500 || values < 400 {
		t.Errorf("checked %d keys and %d values, want at least 500 and 400", keys, values)
	}
}

// keyPartTypes lists the type of each key part of a map (its key, or the key tuple's
// elements).
func keyPartTypes(m *Metadata, e *StorageEntry) []uint32 {
	if !e.Map {
		return nil
	}
	if len(e.Hashers) == 1 {
		return []uint32{e.Key}
	}
	return m.Types[e.Key].Tuple
}

func encodeKeyArg(t *testing.T, m *Metadata, id uint32, raw json.RawMessage) []byte {
	t.Helper()
	ty := m.unwrap(id)
	if ty.Kind == KindArray {
		var addr string
		if err := json.Unmarshal(raw, &addr); err != nil {
			t.Fatal(err)
		}
		pub, err := decodeSS58(addr)
		if err != nil {
			t.Fatal(err)
		}
		return pub[:]
	}
	var n uint64
	if err := json.Unmarshal(raw, &n); err != nil {
		t.Fatalf("key arg %s: %v", raw, err)
	}
	switch ty.Prim {
	case PrimU16:
		return appendU16(nil, uint16(n))
	case PrimU32:
		return appendU32(nil, uint32(n))
	case PrimU64:
		return appendU64(nil, n)
	}
	t.Fatalf("key type %s", m.TypeName(id))
	return nil
}
