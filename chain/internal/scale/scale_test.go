package scale

import (
	"encoding/hex"
	"errors"
	"testing"
)

// TestCompact checks the encodings of the SCALE specification's examples (docs.substrate.io,
// "SCALE codec": 0 → 00, 1 → 04, 42 → a8, 69 → 1501, 65535 → feff0300, 2^30 → 0300000040)
// and that each reads back.
func TestCompact(t *testing.T) {
	for _, tc := range []struct {
		v   uint64
		hex string
	}{
		{0, "00"}, {1, "04"}, {42, "a8"}, {63, "fc"}, {64, "0101"}, {69, "1501"}, {16383, "fdff"},
		{16384, "02000100"}, {65535, "feff0300"}, {1<<30 - 1, "feffffff"}, {1 << 30, "0300000040"},
		{100000000000000, "0b00407a10f35a"}, {1<<64 - 1, "13ffffffffffffffff"},
	} {
		got := hex.EncodeToString(AppendCompact(nil, tc.v))
		if got != tc.hex {
			t.Errorf("AppendCompact(%d) = %s, want %s", tc.v, got, tc.hex)
		}
		b, _ := hex.DecodeString(tc.hex)
		v, n, err := ReadCompact(append(b, 0xaa))
		if err != nil || v != tc.v || n != len(b) {
			t.Errorf("ReadCompact(%s) = %d, %d, %v", tc.hex, v, n, err)
		}
		if _, _, err := ReadCompact(b[:len(b)-1]); !errors.Is(err, ErrShort) {
			t.Errorf("ReadCompact of truncated %s: %v, want ErrShort", tc.hex, err)
		}
	}
	if _, _, err := ReadCompact([]byte{0x17, 1, 2, 3, 4, 5, 6, 7, 8, 9}); err == nil {
		t.Error("a 9-byte compact integer read as 64 bits")
	}
	// Longer forms than needed (1 in two bytes, 64 in four, 2^14 in five, 2^30 in six).
	for _, h := range []string{"0500", "02010000", "0300400000", "070000004000"} {
		b, _ := hex.DecodeString(h)
		if _, _, err := ReadCompact(b); !errors.Is(err, ErrNonCanonical) {
			t.Errorf("ReadCompact(%s): %v, want ErrNonCanonical", h, err)
		}
	}
}
