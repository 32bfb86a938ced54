package subtensor

import (
	"bytes"
	"encoding/hex"
	"math/big"
	"strings"
	"testing"

	"github.com/pretrain/pretrain/chain/internal/scale"
)

// Compact vectors from the SCALE codec documentation (docs.substrate.io, "SCALE encoding").
func TestCompact(t *testing.T) {
	for _, tc := range []struct {
		v   uint64
		hex string
	}{
		{0, "00"}, {1, "04"}, {42, "a8"}, {69, "1501"}, {65535, "feff0300"},
		{100000000000000, "0b00407a10f35a"}, {1<<30 - 1, "feffffff"}, {1 << 30, "0300000040"},
		{1<<64 - 1, "13ffffffffffffffff"},
	} {
		if got := hex.EncodeToString(scale.AppendCompact(nil, tc.v)); got != tc.hex {
			t.Errorf("scale.AppendCompact(%d) = %s, want %s", tc.v, got, tc.hex)
		}
		b, _ := hex.DecodeString(tc.hex)
		d := newDecoder(b)
		if got := d.compact(); got != tc.v || d.done() != nil {
			t.Errorf("compact(%s) = %d, %v, want %d", tc.hex, got, d.done(), tc.v)
		}
	}
	// A u128 compact (17 bytes of big-integer mode) decodes as a big.Int.
	d := newDecoder(append([]byte{0x33}, bytes.Repeat([]byte{0xff}, 16)...))
	want := new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 128), big.NewInt(1))
	if got := d.compactBig(); got.Cmp(want) != 0 || d.done() != nil {
		t.Errorf("compactBig(u128 max) = %v, %v", got, d.done())
	}
}

func TestDecoderBounds(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   []byte
	}{
		{"vec longer than input", []byte{0xfe, 0xff, 0x03, 0x00, 1, 2}},
		{"huge compact length", []byte{0x13, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}},
		{"empty", nil},
	} {
		d := newDecoder(tc.in)
		if b := d.byteVec(); d.err == nil || b != nil {
			t.Errorf("%s: byteVec = %x, err %v, want an error", tc.name, b, d.err)
		}
	}
	d := newDecoder([]byte{2})
	if d.bool(); d.err == nil {
		t.Error("bool(2): no error")
	}
}

// hostile registries: a cycle, and a zero-sized fan-out whose naive walk is 2^40 steps.
func TestHostileTypes(t *testing.T) {
	u8 := Type{Kind: KindPrimitive, Prim: PrimU8}
	cyc := &Metadata{Types: []Type{{Kind: KindComposite, Fields: []Field{{Name: "a", Type: 1}}}, {Kind: KindTuple, Tuple: []uint32{0}}}}
	cyc.computeSizes()
	if _, err := cyc.DecodeValue(0, []byte{1, 2, 3}); err == nil {
		t.Error("cyclic type: no error")
	}
	fan := &Metadata{}
	for i := range 40 {
		fan.Types = append(fan.Types, Type{Kind: KindTuple, Tuple: []uint32{uint32(i + 1), uint32(i + 1)}})
	}
	fan.Types = append(fan.Types, Type{Kind: KindTuple}, u8)
	fan.computeSizes()
	_, err := fan.DecodeValue(0, nil)
	if err == nil || !strings.Contains(err.Error(), "too complex") {
		t.Errorf("fan-out type: err = %v, want too complex", err)
	}
	if !fan.zeroSized(0) || fan.zeroSized(41) {
		t.Error("zeroSized wrong on the fan-out registry")
	}
}

func TestDecodeI128(t *testing.T) {
	m := &Metadata{Types: []Type{{Kind: KindPrimitive, Prim: PrimI128}}}
	m.computeSizes()
	v, err := m.DecodeValue(0, bytes.Repeat([]byte{0xff}, 16))
	if err != nil || v.(*big.Int).Int64() != -1 {
		t.Errorf("i128(0xff..) = %v, %v, want -1", v, err)
	}
}
