package main

import (
	"bytes"
	"testing"
)

// The encodings below were produced by LLVM's assembler (Debian LLVM 14.0.6):
//
//	echo "vdpbf16ps zmm0, zmm24, zmm26" | llvm-mc -x86-asm-syntax=intel --show-encoding -mattr=+avx512bf16
func TestEncodeVDPBF16PS(t *testing.T) {
	tests := []struct {
		dst, src1, src2 int
		want            []byte
	}{
		{0, 24, 26, []byte{0x62, 0x92, 0x3e, 0x40, 0x52, 0xc2}},
		{23, 25, 29, []byte{0x62, 0x82, 0x36, 0x40, 0x52, 0xfd}},
		{9, 24, 27, []byte{0x62, 0x12, 0x3e, 0x40, 0x52, 0xcb}},
		{16, 25, 28, []byte{0x62, 0x82, 0x36, 0x40, 0x52, 0xc4}},
		{1, 2, 3, []byte{0x62, 0xf2, 0x6e, 0x48, 0x52, 0xcb}},
	}
	for _, tt := range tests {
		if got := encodeVDPBF16PS(tt.dst, tt.src1, tt.src2); !bytes.Equal(got, tt.want) {
			t.Errorf("encodeVDPBF16PS(zmm%d, zmm%d, zmm%d) = % x, want % x", tt.dst, tt.src1, tt.src2, got, tt.want)
		}
	}
}
