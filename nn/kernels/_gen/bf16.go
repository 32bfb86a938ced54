package main

import (
	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// gemmKernelBF16: the AVX512_BF16 micro-kernel. Neither Go's assembler nor avo knows
// VDPBF16PS, so it is written as bytes (vdpbf16ps below) between ordinary instructions,
// with physical registers throughout since the bytes name them.
//
// Operands are packed pair-interleaved: a holds, for each pair p, the 12 words
// bf16(A[i,2p]) | bf16(A[i,2p+1])<<16; b the 32 words of op(B)'s columns likewise. One
// VDPBF16PS multiplies a broadcast word of a by 16 words of b and adds both products of each
// lane into its float32 accumulator.
func gemmKernelBF16() {
	TEXT("gemmKernelBF16AVX512", NOSPLIT, "func(kp int, a, b *uint32, c *float32, ldc int)")
	Pragma("noescape")
	Doc("gemmKernelBF16AVX512 adds the 12x32 product of pair-interleaved bf16 panels a (kp x 12 words) and b (kp x 32 words) into c.")
	kp := Load(Param("kp"), reg.RAX)
	a := Load(Param("a"), reg.RCX)
	b := Load(Param("b"), reg.RDX)
	c := Load(Param("c"), reg.RBX)
	ldc := Load(Param("ldc"), reg.RSI)
	const b0, b1, bc0 = 24, 25, 26 // B registers, then four broadcast registers 26–29
	for i := range 2 * mr {
		z := zmm(i)
		VXORPS(z, z, z)
	}
	Label("bf16_loop")
	TESTQ(kp, kp)
	JZ(LabelRef("bf16_store"))
	VMOVUPS(Mem{Base: b}, zmm(b0))
	VMOVUPS(Mem{Base: b, Disp: 64}, zmm(b1))
	for i := range mr {
		bc := bc0 + i%4
		VPBROADCASTD(Mem{Base: a, Disp: 4 * i}, zmm(bc))
		vdpbf16ps(2*i, b0, bc)
		vdpbf16ps(2*i+1, b1, bc)
	}
	ADDQ(U32(mr*4), a)
	ADDQ(U32(nr*4), b)
	DECQ(kp)
	JMP(LabelRef("bf16_loop"))
	Label("bf16_store")
	SHLQ(Imm(2), ldc)
	for i := range mr {
		VADDPS(Mem{Base: c}, zmm(2*i), zmm(2*i))
		VADDPS(Mem{Base: c, Disp: 64}, zmm(2*i+1), zmm(2*i+1))
		VMOVUPS(zmm(2*i), Mem{Base: c})
		VMOVUPS(zmm(2*i+1), Mem{Base: c, Disp: 64})
		if i < mr-1 {
			ADDQ(ldc, c)
		}
	}
	VZEROUPPER()
	RET()
}

var zmms = []reg.VecPhysical{
	reg.Z0, reg.Z1, reg.Z2, reg.Z3, reg.Z4, reg.Z5, reg.Z6, reg.Z7, reg.Z8, reg.Z9, reg.Z10, reg.Z11,
	reg.Z12, reg.Z13, reg.Z14, reg.Z15, reg.Z16, reg.Z17, reg.Z18, reg.Z19, reg.Z20, reg.Z21, reg.Z22,
	reg.Z23, reg.Z24, reg.Z25, reg.Z26, reg.Z27, reg.Z28, reg.Z29, reg.Z30, reg.Z31,
}

func zmm(i int) reg.VecPhysical { return zmms[i] }

// vdpbf16ps emits VDPBF16PS zmm(dst), zmm(src1), zmm(src2) as bytes.
func vdpbf16ps(dst, src1, src2 int) { emit(encodeVDPBF16PS(dst, src1, src2)) }

// encodeVDPBF16PS encodes VDPBF16PS zmm1, zmm2, zmm3 (Intel operand order: zmm1 += pairs of
// zmm2 · zmm3), all registers: EVEX.512.F3.0F38.W0 52 /r with no masking or broadcast.
//
//	P0 = R̄ X̄ B̄ R̄' 0 0 m m   (mm = 10: the 0F38 map; X̄ extends ModRM.rm to 32 registers)
//	P1 = W v̄v̄v̄v̄ 1 p p       (W0, vvvv = src1 inverted, pp = 10: F3)
//	P2 = z L'L b V̄' a a a    (L'L = 10: 512 bits, V̄' = src1 bit 4 inverted)
func encodeVDPBF16PS(dst, src1, src2 int) []byte {
	inv := func(r, bit int) byte {
		if r&bit == 0 {
			return 1
		}
		return 0
	}
	p0 := inv(dst, 8)<<7 | inv(src2, 16)<<6 | inv(src2, 8)<<5 | inv(dst, 16)<<4 | 0b10
	p1 := byte(^src1&15)<<3 | 1<<2 | 0b10
	p2 := byte(0b10)<<5 | inv(src1, 16)<<3
	modrm := byte(0b11<<6 | (dst&7)<<3 | src2&7)
	return []byte{0x62, p0, p1, p2, 0x52, modrm}
}
