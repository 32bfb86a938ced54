package subtensor

import (
	"encoding/hex"

	"fmt"
	"github.com/pretrain/pretrain/chain"
	"strings"
	"testing"
)

// layout is the spec-343 layout that @polkadot/types derived from the V15 blob
// (finney-spec343-layout.derived.json): an independent decoder of the same metadata.
type layout struct {
	Pallets map[string]struct {
		Index   int
		Storage map[string]struct {
			Prefix   string
			Modifier string
			Default  string
			Kind     string
			Hashers  []string
		}
		Calls map[string]struct {
			CallIndex []int `json:"call_index"`
			Args      []struct{ Name string }
		}
	}
	Extrinsic struct {
		Version          int
		SignedExtensions []struct {
			Identifier       string
			Extra            string
			AdditionalSigned string `json:"additional_signed"`
		} `json:"signed_extensions"`
	}
	RuntimeAPIs map[string][]struct {
		StateCallName string `json:"state_call_name"`
		Inputs        []struct{ Name string }
		OutputTypeID  uint32 `json:"output_type_id"`
	} `json:"runtime_apis"`
}

var hasherNames = map[Hasher]string{
	HasherBlake2_128: "Blake2_128", HasherBlake2_256: "Blake2_256", HasherBlake2_128Concat: "Blake2_128Concat",
	HasherTwox128: "Twox128", HasherTwox256: "Twox256", HasherTwox64Concat: "Twox64Concat", HasherIdentity: "Identity",
}

func TestMetadataMatchesPolkadotLayout(t *testing.T) {
	var want layout
	loadJSON(t, "finney-spec343-layout.derived.json.gz", &want)
	nItems, nCalls := 0, 0
	for _, p := range want.Pallets {
		nItems += len(p.Storage)
		nCalls += len(p.Calls)
	}
	if len(want.Pallets) < 3 || nItems < 20 || nCalls < 3 || len(want.Extrinsic.SignedExtensions) < 10 {
		t.Fatalf("layout fixture read wrongly: %d pallets, %d items, %d calls", len(want.Pallets), nItems, nCalls)
	}
	for _, name := range []string{spec343V14, spec343V15} {
		t.Run(name, func(t *testing.T) {
			m := metadataFixture(t, name)
			for pname, wp := range want.Pallets {
				p, err := m.Pallet(pname)
				if err != nil {
					t.Fatal(err)
				}
				if int(p.Index) != wp.Index {
					t.Errorf("%s index = %d, want %d", pname, p.Index, wp.Index)
				}
				for item, ws := range wp.Storage {
					key, e, err := m.storageKey(pname, item)
					if err != nil {
						t.Fatal(err)
					}
					if got := "0x" + fmt.Sprintf("%x", key); got != ws.Prefix {
						t.Errorf("%s.%s prefix = %s, want %s", pname, item, got, ws.Prefix)
					}
					var hs []string
					for _, h := range e.Hashers {
						hs = append(hs, hasherNames[h])
					}
					if strings.Join(hs, ",") != strings.Join(ws.Hashers, ",") {
						t.Errorf("%s.%s hashers = %v, want %v", pname, item, hs, ws.Hashers)
					}
					if e.Optional != (ws.Modifier == "Optional") || e.Map != (ws.Kind == "map") {
						t.Errorf("%s.%s optional %v map %v, want %s %s", pname, item, e.Optional, e.Map, ws.Modifier, ws.Kind)
					}
					if got := fmt.Sprintf("0x%x", e.Default); got != ws.Default {
						t.Errorf("%s.%s default = %s, want %s", pname, item, got, ws.Default)
					}
				}
				for call, wc := range wp.Calls {
					pi, ci, fields, err := m.Call(pname, call)
					if err != nil {
						t.Fatal(err)
					}
					if int(pi) != wc.CallIndex[0] || int(ci) != wc.CallIndex[1] {
						t.Errorf("%s.%s index = %d/%d, want %v", pname, call, pi, ci, wc.CallIndex)
					}
					var got, wantArgs []string
					for _, f := range fields {
						got = append(got, f.Name)
					}
					for _, a := range wc.Args {
						wantArgs = append(wantArgs, a.Name)
					}
					if strings.Join(got, ",") != strings.Join(wantArgs, ",") {
						t.Errorf("%s.%s args = %v, want %v", pname, call, got, wantArgs)
					}
				}
			}
			if int(m.Extrinsic.Version) != want.Extrinsic.Version {
				t.Errorf("extrinsic version = %d, want %d", m.Extrinsic.Version, want.Extrinsic.Version)
			}
			if len(m.Extrinsic.Extensions) != len(want.Extrinsic.SignedExtensions) {
				t.Fatalf("%d signed extensions, want %d", len(m.Extrinsic.Extensions), len(want.Extrinsic.SignedExtensions))
			}
			for i, we := range want.Extrinsic.SignedExtensions {
				e := m.Extrinsic.Extensions[i]
				if e.Identifier != we.Identifier {
					t.Errorf("extension %d = %s, want %s", i, e.Identifier, we.Identifier)
				}
				if m.zeroSized(e.Type) != (we.Extra == "Null") || m.zeroSized(e.Additional) != (we.AdditionalSigned == "Null") {
					t.Errorf("extension %s: zero-sized extra %v additional %v, want %s / %s", e.Identifier,
						m.zeroSized(e.Type), m.zeroSized(e.Additional), we.Extra, we.AdditionalSigned)
				}
			}
		})
	}
	m := metadataFixture(t, spec343V15)
	nAPI := 0
	for api, methods := range want.RuntimeAPIs {
		for _, wm := range methods {
			nAPI++
			method := strings.TrimPrefix(wm.StateCallName, api+"_")
			am, err := m.API(api, method)
			if err != nil {
				t.Error(err)
				continue
			}
			if am.Output != wm.OutputTypeID || len(am.Inputs) != len(wm.Inputs) {
				t.Errorf("%s: output %d inputs %d, want %d %d", wm.StateCallName, am.Output, len(am.Inputs), wm.OutputTypeID, len(wm.Inputs))
			}
		}
	}
	if nAPI == 0 {
		t.Fatal("layout lists no runtime apis")
	}
}

func TestMetadataVersions(t *testing.T) {
	for _, tc := range []struct {
		name    string
		version int
		pallets int
	}{
		{spec343V14, 14, 26},
		{spec343V15, 15, 26},
		{spec318V15, 15, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := metadataFixture(t, tc.name)
			if m.Version != tc.version {
				t.Errorf("version = %d, want %d", m.Version, tc.version)
			}
			if tc.pallets > 0 && len(m.Pallets) != tc.pallets {
				t.Errorf("%d pallets, want %d", len(m.Pallets), tc.pallets)
			}
			if _, _, _, err := m.Call("SubtensorModule", "set_weights"); err != nil {
				t.Error(err)
			}
		})
	}
}

// TestMetadataV16 parses finney spec 393's V16 metadata (the Rust SDK's copy): its v4
// extension list has the newer SudoTransactionExtension and CheckShieldedTxValidity, and a
// set_weights signed for it carries the same extra data as at spec 343, since every custom
// extension is empty.
func TestMetadataV16(t *testing.T) {
	m := metadataFixture(t, "metadata-spec393-v16.scale.gz")
	if m.Version != 16 || m.Extrinsic.Version != 4 {
		t.Fatalf("version %d, extrinsic v%d; want 16, 4", m.Version, m.Extrinsic.Version)
	}
	var ids []string
	for _, e := range m.Extrinsic.Extensions {
		ids = append(ids, e.Identifier)
	}
	got := strings.Join(ids, ",")
	for _, want := range []string{"CheckMortality", "CheckNonce", "ChargeTransactionPayment", "SudoTransactionExtension",
		"CheckShieldedTxValidity", "SubtensorTransactionExtension", "DrandPriority", "CheckMetadataHash"} {
		if !strings.Contains(got, want) {
			t.Errorf("extensions %s lack %s", got, want)
		}
	}
	if len(ids) != 13 {
		t.Errorf("%d extensions (%s), want 13", len(ids), got)
	}
	if p, err := m.Pallet("SubtensorModule"); err != nil || p.Index != 7 {
		t.Errorf("SubtensorModule: %v", err)
	}
	call, err := m.setWeightsCall(9, []chain.UID{0, 1, 2}, []uint16{0, 32768, 65535}, 4062)
	if err != nil || hex.EncodeToString(call) != "070009000c0000010002000c00000080ffffde0f000000000000" {
		t.Errorf("set_weights call = %x, %v", call, err)
	}
	extra, add, err := m.extensions(txParams{Nonce: 7, Period: 64, Current: 6852690, SpecVersion: 393, TxVersion: 1})
	if err != nil {
		t.Fatal(err)
	}
	// era 0x2501, nonce 7, tip 0, metadata-hash mode 0; spec, tx version, genesis, birth, None.
	if hex.EncodeToString(extra) != "25011c0000" || len(add) != 4+4+32+32+1 {
		t.Errorf("extra = %x, additional %d bytes", extra, len(add))
	}
	if _, err := m.API("NeuronInfoRuntimeApi", "get_neurons_lite"); err != nil {
		t.Error(err)
	}
	if _, err := m.API("SubnetInfoRuntimeApi", "get_subnet_state"); err != nil {
		t.Error(err)
	}
	if m365 := metadataFixture(t, "metadata-spec365-v16.scale.gz"); m365.Version != 16 {
		t.Errorf("spec 365: version %d", m365.Version)
	}
}
