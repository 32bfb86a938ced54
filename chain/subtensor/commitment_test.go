package subtensor

import (
	"encoding/hex"
	"strings"
	"testing"

	"github.com/pretrain/pretrain/chain"
)

// TestCommitmentFinney decodes the two real CommitmentOf values of netuid 1 and rebuilds
// their storage keys (finney-b6852690-netuid1-CommitmentOf-values.json).
func TestCommitmentFinney(t *testing.T) {
	var f struct {
		Entries []struct {
			Netuid     uint16
			HotkeySS58 string `json:"hotkey_ss58"`
			StorageKey string `json:"storage_key_computed"`
			ValueHex   string `json:"value_hex"`
			Decoded    struct {
				Block  uint32
				Fields []struct{ UTF8 string }
			}
		}
	}
	loadJSON(t, "finney-b6852690-netuid1-CommitmentOf-values.json.gz", &f)
	if len(f.Entries) != 2 {
		t.Fatalf("%d entries, want 2", len(f.Entries))
	}
	for _, name := range []string{spec343V14, spec343V15} {
		m := metadataFixture(t, name)
		for _, e := range f.Entries {
			got, err := m.decodeCommitment(unhex(t, e.ValueHex))
			if err != nil {
				t.Fatal(err)
			}
			want := chain.Commitment{Data: e.Decoded.Fields[0].UTF8, Block: chain.Block(e.Decoded.Block)}
			if got != want {
				t.Errorf("%s: commitment = %+v, want %+v", name, got, want)
			}
			pub, err := decodeSS58(e.HotkeySS58)
			if err != nil {
				t.Fatal(err)
			}
			key, err := m.commitmentKey(e.Netuid, pub)
			if err != nil {
				t.Fatal(err)
			}
			if "0x"+hex.EncodeToString(key) != e.StorageKey {
				t.Errorf("key = %x, want %s", key, e.StorageKey)
			}
		}
	}
}

func TestCommitmentDecode(t *testing.T) {
	m := metadataFixture(t, spec343V15)
	for _, tc := range []struct {
		name, hex string
		want      chain.Commitment
		err       string
	}{
		// turbobt test_get_commitment (spec 318 localnet): block 289, Raw4 0x00010203.
		{"turbobt raw4", "000000000000000021010000040500010203", chain.Commitment{Data: "\x00\x01\x02\x03", Block: 289}, ""},
		{"raw0", "0000000000000000050000000401", chain.Commitment{Data: "", Block: 5}, ""},
		{"bigraw", "00000000000000000500000004880c616263", chain.Commitment{Data: "abc", Block: 5}, ""},
		{"no fields", "000000000000000005000000" + "00", chain.Commitment{}, "no fields"},
		{"none field", "000000000000000005000000" + "0400", chain.Commitment{}, "not raw data"},
		{"sha256 field", "000000000000000005000000" + "0483" + strings.Repeat("00", 32), chain.Commitment{}, "not raw data"},
		{"bad utf8", "000000000000000005000000" + "0402ff", chain.Commitment{}, "utf-8"},
		{"truncated raw", "000000000000000005000000" + "0405aa", chain.Commitment{}, "unexpected end"},
		{"trailing bytes", "0000000000000000050000000401ff", chain.Commitment{}, "trailing"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := hex.DecodeString(tc.hex)
			if err != nil {
				t.Fatal(err)
			}
			got, err := m.decodeCommitment(b)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("decodeCommitment(%s) error = %v, want %q", tc.hex, err, tc.err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("decodeCommitment(%s) = %+v, %v, want %+v", tc.hex, got, err, tc.want)
			}
		})
	}
}

func FuzzCommitment(f *testing.F) {
	m := metadataFixture(f, spec343V15)
	for _, s := range []string{"000000000000000021010000040500010203", "0000000000000000ccc84d0004627b27", "00000000000000000500000004880c616263"} {
		b, _ := hex.DecodeString(s)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := m.decodeCommitment(b)
		if err == nil && len(c.Data) > len(b) {
			t.Fatalf("decoded %d bytes of data from %d bytes", len(c.Data), len(b))
		}
	})
}
