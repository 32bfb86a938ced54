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
	addTile(zmms[:2*mr], c, ldc)
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

// gemmKernelBF16Widen: the bf16 micro-kernel for CPUs whose VDPBF16PS runs at half the
// rate of their float32 FMAs (measured on an Emerald Rapids Xeon: 69–85 against 128–168 GFLOP/s
// on one core). B stays packed as pair-interleaved words and is widened in
// registers: the odd (high) element of a word is the word with its low half cleared, the
// even (low) one the word shifted left 16. A is read in place, row-major, already rounded to
// bfloat16 values: each element is broadcast from memory, so A needs no packing. Each accumulator adds the odd product and then the even one, each FMA rounded
// once: the order and rounding of a VDPBF16PS lane (only its flush of subnormal partial sums
// is missing).
func gemmKernelBF16Widen() {
	TEXT("gemmKernelBF16WidenAVX512", NOSPLIT, "func(kp int, a *float32, lda int, b *uint32, c *float32, ldc int)")
	Pragma("noescape")
	Doc("gemmKernelBF16WidenAVX512 adds the 12x32 product of row-major a (12 rows of 2kp values, row stride lda) and pair-interleaved bf16 words b (kp x 32) into c.")
	kp := Load(Param("kp"), GP64())
	a := Load(Param("a"), GP64())
	lda := Load(Param("lda"), GP64())
	b := Load(Param("b"), GP64())
	c := Load(Param("c"), GP64())
	ldc := Load(Param("ldc"), GP64())

	// Rows 3j, 3j+1 and 3j+2 are base[j], base[j]+lda and base[j]+2·lda (bytes).
	SHLQ(Imm(2), lda)
	var base [mr / 3]reg.GPVirtual
	for j := range base {
		base[j] = GP64()
		if j == 0 {
			MOVQ(a, base[j])
		} else {
			LEAQ(Mem{Base: base[j-1], Index: lda, Scale: 2}, base[j])
			ADDQ(lda, base[j])
		}
	}
	row := func(i, disp int) Mem { return rowMem(base[:], lda, i, disp) }

	acc := make([]reg.VecVirtual, 2*mr)
	for i := range acc {
		acc[i] = ZMM()
		VXORPS(acc[i], acc[i], acc[i])
	}
	high := broadcastZ(0xffff0000)
	hi0, hi1, lo0, lo1 := ZMM(), ZMM(), ZMM(), ZMM()

	Label("widen_loop")
	TESTQ(kp, kp)
	JZ(LabelRef("widen_store"))
	VPANDD(Mem{Base: b}, high, hi0)
	VPANDD(Mem{Base: b, Disp: 64}, high, hi1)
	VPSLLD(Imm(16), Mem{Base: b}, lo0)
	VPSLLD(Imm(16), Mem{Base: b, Disp: 64}, lo1)
	// Broadcasts are separate loads: an FMA with an indexed memory operand is split into
	// two micro-ops on Intel cores, and eight of the rows need an index.
	for _, el := range []struct {
		disp   int
		b0, b1 reg.VecVirtual
	}{{4, hi0, hi1}, {0, lo0, lo1}} { // the odd elements, then the even ones
		for i := range mr {
			x := ZMM()
			VBROADCASTSS(row(i, el.disp), x)
			VFMADD231PS(x, el.b0, acc[2*i])
			VFMADD231PS(x, el.b1, acc[2*i+1])
		}
	}
	for j := range base {
		ADDQ(Imm(8), base[j])
	}
	ADDQ(U32(nr*4), b)
	DECQ(kp)
	JMP(LabelRef("widen_loop"))

	Label("widen_store")
	addTile(acc, c, ldc)
	VZEROUPPER()
	RET()
}

// rowMem addresses row i of a row-major operand whose rows 3j, 3j+1 and 3j+2 are bases[j]
// plus 0, 1 and 2 strides of lda bytes, at byte disp within the row.
func rowMem[R reg.Register](bases []R, lda reg.Register, i, disp int) Mem {
	m := Mem{Base: bases[i/3], Disp: disp}
	if i%3 > 0 {
		m.Index, m.Scale = lda, uint8(i%3)
	}
	return m
}

// broadcastZ returns a zmm register holding v in every 32-bit lane.
func broadcastZ(v uint32) reg.VecVirtual {
	r, z := GP32(), ZMM()
	MOVL(U32(v), r)
	VPBROADCASTD(r, z)
	return z
}

// roundBF16s: dst[i] = src[i] rounded to the nearest bfloat16, ties to even, held as float32,
// with NaN kept quiet and a subnormal result flushed to the zero of its sign: F32ToBF16 and
// roundBF16 of package kernels, 16 lanes at a time in AVX-512F integer operations.
func roundBF16s() {
	TEXT("roundBF16sAVX512", NOSPLIT, "func(dst, src *float32, n int)")
	Pragma("noescape")
	Doc("roundBF16sAVX512 sets dst[i] to src[i] rounded to bfloat16 (nearest even, NaN quieted, subnormals to zero) for i < n (a multiple of 16).")
	dst := Load(Param("dst"), GP64())
	src := Load(Param("src"), GP64())
	n := Load(Param("n"), GP64())
	bias, one, high := broadcastZ(0x7fff), broadcastZ(1), broadcastZ(0xffff0000)
	abs, inf, quiet := broadcastZ(0x7fffffff), broadcastZ(0x7f800000), broadcastZ(0x00400000)
	sign := broadcastZ(0x80000000)
	u, r, t := ZMM(), ZMM(), ZMM()
	isNaN, tiny := K(), K()

	Label("round_loop")
	TESTQ(n, n)
	JZ(LabelRef("round_done"))
	VMOVDQU32(Mem{Base: src}, u)
	VPSRLD(Imm(16), u, t) // r = (u + 0x7fff + (u>>16)&1) & 0xffff0000
	VPANDD(one, t, t)
	VPADDD(bias, u, r)
	VPADDD(t, r, r)
	VPANDD(abs, u, t) // NaN: |u| > inf; r = u | quiet
	VPCMPUD(Imm(6), inf, t, isNaN)
	VPORD(quiet, u, isNaN, r)
	VPANDD(high, r, r)
	VPTESTNMD(inf, r, tiny) // a zero exponent: keep the sign only
	VPANDD(sign, r, tiny, r)
	VMOVDQU32(r, Mem{Base: dst})
	ADDQ(Imm(64), src)
	ADDQ(Imm(64), dst)
	SUBQ(Imm(16), n)
	JMP(LabelRef("round_loop"))
	Label("round_done")
	VZEROUPPER()
	RET()
}
