package main

import (
	"bytes"
	"testing"
)

// The encodings below were produced by GNU as 2.40 (Debian binutils) and read back with
// objdump, e.g.
//
//	echo 'tileloadd 64(%rdi,%rdx,1),%tmm4' | as -o t.o && objdump -d t.o
func TestEncodeAMX(t *testing.T) {
	tests := []struct {
		asm       string
		got, want []byte
	}{
		{"ldtilecfg (%rax)", ldtilecfg(0), []byte{0xc4, 0xe2, 0x78, 0x49, 0x00}},
		{"tilerelease", tilerelease(), []byte{0xc4, 0xe2, 0x78, 0x49, 0xc0}},
		{"tilezero %tmm1", tilezero(1), []byte{0xc4, 0xe2, 0x7b, 0x49, 0xc8}},
		{"tdpbf16ps %tmm3,%tmm2,%tmm1", tdpbf16ps(1, 2, 3), []byte{0xc4, 0xe2, 0x62, 0x5c, 0xca}},
		{"tileloadd (%rsi,%rbx,1),%tmm2", tileloadd(2, 6, 3, 0), []byte{0xc4, 0xe2, 0x7b, 0x4b, 0x14, 0x1e}},
		{"tilestored %tmm0,(%rax,%rdx,1)", tilestored(0, 2, 0, 0), []byte{0xc4, 0xe2, 0x7a, 0x4b, 0x04, 0x10}},
		// The instructions amxTileBF16 emits that the lines above do not already cover.
		{"tileloadd 64(%rdi,%rdx,1),%tmm4", tileloadd(4, 7, 2, 64), []byte{0xc4, 0xe2, 0x7b, 0x4b, 0x64, 0x17, 0x40}},
		{"tileloadd (%rdi,%rdx,1),%tmm3", tileloadd(3, 7, 2, 0), []byte{0xc4, 0xe2, 0x7b, 0x4b, 0x1c, 0x17}},
		{"tilestored %tmm1,64(%rax,%rdx,1)", tilestored(0, 2, 64, 1), []byte{0xc4, 0xe2, 0x7a, 0x4b, 0x4c, 0x10, 0x40}},
		{"tdpbf16ps %tmm4,%tmm2,%tmm1", tdpbf16ps(1, 2, 4), []byte{0xc4, 0xe2, 0x5a, 0x5c, 0xca}},
		{"tdpbf16ps %tmm3,%tmm2,%tmm0", tdpbf16ps(0, 2, 3), []byte{0xc4, 0xe2, 0x62, 0x5c, 0xc2}},
		{"tilezero %tmm0", tilezero(0), []byte{0xc4, 0xe2, 0x7b, 0x49, 0xc0}},
	}
	for _, tt := range tests {
		if !bytes.Equal(tt.got, tt.want) {
			t.Errorf("%s = % x, want % x", tt.asm, tt.got, tt.want)
		}
	}
}
