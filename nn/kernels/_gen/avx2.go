package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// The AVX2+FMA loops (for CPUs without AVX-512, such as AMD Zen 2 and 3). VEX instructions
// reach only Y0–Y15, so every function here names physical registers instead of leaving
// allocation to avo, which may hand out Y16–Y31 (EVEX-only).

func avx2() {
	gemmKernelAVX2()
	expConsts8()
	expSumAVX2()
	xSigmoidAVX2()
	dotF32AVX2()
	dotBF16AVX2()
	gemmKernelBF16WidenAVX2()
	roundBF16sAVX2()
}

// gemmKernelAVX2 computes the shared 12x32 tile as four 6x16 sub-tiles, one after another:
// 12 accumulators, two B registers and two broadcast registers fill the 16 ymm registers.
// Each sub-tile streams over k with 12 FMAs per step against 2 loads and 6 broadcasts,
// which Zen 2's two FMA and two load ports sustain.
func gemmKernelAVX2() {
	TEXT("gemmKernelAVX2", NOSPLIT, "func(k int, a, b, c *float32, ldc int)")
	Pragma("noescape")
	Doc("gemmKernelAVX2 adds the 12x32 product of packed panels a (k x 12) and b (k x 32) into c.")
	k := Load(Param("k"), reg.RAX)
	a := Load(Param("a"), reg.RCX)
	b := Load(Param("b"), reg.RDX)
	c := Load(Param("c"), reg.RBX)
	ldc := Load(Param("ldc"), reg.RSI)
	SHLQ(Imm(2), ldc)
	n, ap, bp, cp := reg.RDI, reg.R8, reg.R9, reg.R10
	acc := []reg.VecPhysical{reg.Y0, reg.Y1, reg.Y2, reg.Y3, reg.Y4, reg.Y5, reg.Y6, reg.Y7, reg.Y8, reg.Y9, reg.Y10, reg.Y11}
	b0, b1 := reg.Y12, reg.Y13
	t := []reg.VecPhysical{reg.Y14, reg.Y15}
	for sub := range 4 {
		rowHalf, colHalf := sub/2, sub%2
		for _, z := range acc {
			VXORPS(z, z, z)
		}
		MOVQ(k, n)
		LEAQ(Mem{Base: a, Disp: rowHalf * 6 * 4}, ap)
		LEAQ(Mem{Base: b, Disp: colHalf * 16 * 4}, bp)
		step := func(off int) {
			VMOVUPS(Mem{Base: bp, Disp: off * nr * 4}, b0)
			VMOVUPS(Mem{Base: bp, Disp: off*nr*4 + 32}, b1)
			for i := range 6 {
				ti := t[i%2]
				VBROADCASTSS(Mem{Base: ap, Disp: (off*mr + i) * 4}, ti)
				VFMADD231PS(ti, b0, acc[2*i])
				VFMADD231PS(ti, b1, acc[2*i+1])
			}
		}
		loop, tail, store := fmt.Sprintf("avx2_loop4_%d", sub), fmt.Sprintf("avx2_tail_%d", sub), fmt.Sprintf("avx2_store_%d", sub)
		Label(loop)
		CMPQ(n, Imm(4))
		JL(LabelRef(tail))
		for u := range 4 {
			step(u)
		}
		ADDQ(U32(4*mr*4), ap)
		ADDQ(U32(4*nr*4), bp)
		SUBQ(Imm(4), n)
		JMP(LabelRef(loop))
		Label(tail)
		TESTQ(n, n)
		JZ(LabelRef(store))
		step(0)
		ADDQ(U32(mr*4), ap)
		ADDQ(U32(nr*4), bp)
		DECQ(n)
		JMP(LabelRef(tail))
		Label(store)
		MOVQ(c, cp)
		addSubTile(acc, cp, ldc, rowHalf, colHalf)
	}
	VZEROUPPER()
	RET()
}

// addSubTile adds the 12 ymm accumulators of 6x16 sub-tile (rowHalf, colHalf) of a 12x32
// tile (row i in acc[2i] and acc[2i+1]) to the tile at c (row stride ldc in bytes) and
// stores them; c is advanced to the sub-tile's last row.
func addSubTile(acc []reg.VecPhysical, c, ldc reg.Register, rowHalf, colHalf int) {
	for range rowHalf * 6 {
		ADDQ(ldc, c)
	}
	for i := range 6 {
		m0 := Mem{Base: c, Disp: colHalf * 64}
		m1 := Mem{Base: c, Disp: colHalf*64 + 32}
		VADDPS(m0, acc[2*i], acc[2*i])
		VADDPS(m1, acc[2*i+1], acc[2*i+1])
		VMOVUPS(acc[2*i], m0)
		VMOVUPS(acc[2*i+1], m1)
		if i < 5 {
			ADDQ(ldc, c)
		}
	}
}

// broadcastY loads v into every 32-bit lane of y through the general register gp.
func broadcastY(v uint32, gp reg.GPPhysical, y reg.VecPhysical) reg.VecPhysical {
	MOVL(U32(v), gp.As32())
	MOVQ(gp, y.AsX())
	VPBROADCASTD(y.AsX(), y)
	return y
}

// expC8 holds each exponential constant eight times, so the AVX2 loops read them as
// 32-byte memory operands instead of keeping twelve registers, followed by the int32
// exponent bias 127 eight times.
var expC8 Mem

const expBias8 = 12 // index of the bias vector in expC8

func expConsts8() {
	expC8 = GLOBL("expconsts8", RODATA|NOPTR)
	for i, v := range expC {
		for l := range 8 {
			DATA(32*i+4*l, F32(v))
		}
	}
	for l := range 8 {
		DATA(32*expBias8+4*l, U32(127))
	}
}

func c8(i int) Mem { return expC8.Offset(32 * i) }

// expY sets x = exp(x) in place for eight lanes, as expZ does for sixteen, except that
// 2^n is built from the exponent bits in two halves (n1 + n2 = n), so n down to -150 and
// up to 128 stay exact as in the generic Exp. n, p, r2, s1 and s2 are scratch.
func expY(x, n, p, r2, s1, s2 reg.VecPhysical) {
	VMINPS(c8(0), x, x)
	VMAXPS(c8(1), x, x)
	VMULPS(c8(2), x, n)
	VROUNDPS(Imm(0), n, n)
	VFNMADD231PS(c8(3), n, x)
	VFNMADD231PS(c8(4), n, x)
	VMOVUPS(c8(5), p)
	for i := 6; i <= 10; i++ {
		VFMADD213PS(c8(i), x, p)
	}
	VMULPS(x, x, r2)
	VFMADD213PS(x, r2, p) // p = p*r² + r
	VADDPS(c8(11), p, p)
	VCVTPS2DQ(n, s1)       // n is integral: exact
	VPSRAD(Imm(1), s1, s2) // n1 = floor(n/2)
	VPSUBD(s2, s1, s1)     // n2 = n - n1
	VPADDD(c8(expBias8), s1, s1)
	VPADDD(c8(expBias8), s2, s2)
	VPSLLD(Imm(23), s1, s1)
	VPSLLD(Imm(23), s2, s2)
	VMULPS(s1, p, p)
	VMULPS(s2, p, x)
}

// expSumAVX2: as expSumAVX512, sixteen values per step in two registers whose lane sums
// fill sums.
func expSumAVX2() {
	TEXT("expSumAVX2", NOSPLIT, "func(x *float32, n int, m float32, sums *[16]float32)")
	Pragma("noescape")
	Doc("expSumAVX2 sets x[i] = exp(x[i]-m) for i < n (a multiple of 16) and stores 16 lane sums.")
	x := Load(Param("x"), reg.RAX)
	n := Load(Param("n"), reg.RCX)
	sums := Load(Param("sums"), reg.RDX)
	mz := reg.Y0
	VBROADCASTSS(NewParamAddr("m", 16), mz)
	acc0, acc1 := reg.Y1, reg.Y2
	VXORPS(acc0, acc0, acc0)
	VXORPS(acc1, acc1, acc1)
	v0, v1 := reg.Y3, reg.Y4
	Label("expsum2_loop")
	CMPQ(n, Imm(16))
	JL(LabelRef("expsum2_done"))
	VMOVUPS(Mem{Base: x}, v0)
	VMOVUPS(Mem{Base: x, Disp: 32}, v1)
	VSUBPS(mz, v0, v0)
	VSUBPS(mz, v1, v1)
	expY(v0, reg.Y5, reg.Y6, reg.Y7, reg.Y8, reg.Y9)
	expY(v1, reg.Y10, reg.Y11, reg.Y12, reg.Y13, reg.Y14)
	VMOVUPS(v0, Mem{Base: x})
	VMOVUPS(v1, Mem{Base: x, Disp: 32})
	VADDPS(v0, acc0, acc0)
	VADDPS(v1, acc1, acc1)
	ADDQ(U32(64), x)
	SUBQ(U32(16), n)
	JMP(LabelRef("expsum2_loop"))
	Label("expsum2_done")
	VMOVUPS(acc0, Mem{Base: sums})
	VMOVUPS(acc1, Mem{Base: sums, Disp: 32})
	VZEROUPPER()
	RET()
}

// xSigmoidAVX2: as xSigmoidAVX512, eight values per step.
func xSigmoidAVX2() {
	TEXT("xSigmoidAVX2", NOSPLIT, "func(x *float32, n int, a, b float32)")
	Pragma("noescape")
	Doc("xSigmoidAVX2 sets x[i] = x[i]/(1+exp(-(a*x[i]+b*x[i]^3))) for i < n (a multiple of 8).")
	x := Load(Param("x"), reg.RAX)
	n := Load(Param("n"), reg.RCX)
	az, bz := reg.Y0, reg.Y1
	VBROADCASTSS(NewParamAddr("a", 16), az)
	VBROADCASTSS(NewParamAddr("b", 20), bz)
	v, z, t := reg.Y2, reg.Y3, reg.Y4
	Label("xsig2_loop")
	CMPQ(n, Imm(8))
	JL(LabelRef("xsig2_done"))
	VMOVUPS(Mem{Base: x}, v)
	xSigmoidStep(v, z, t, az, bz, func(z Op) { expY(z.(reg.VecPhysical), reg.Y5, reg.Y6, reg.Y7, reg.Y8, reg.Y9) }, c8(11))
	VMOVUPS(v, Mem{Base: x})
	ADDQ(U32(32), x)
	SUBQ(U32(8), n)
	JMP(LabelRef("xsig2_loop"))
	Label("xsig2_done")
	VZEROUPPER()
	RET()
}

// dotF32AVX2: sum of a[i]*b[i] for i < n (a multiple of 32), four accumulators.
func dotF32AVX2() {
	dotAVX2("dotF32AVX2", "func(a, b *float32, n int) float32",
		"dotF32AVX2 returns the dot product of a and b over n elements (a multiple of 32).",
		4, func(m Mem, y reg.VecPhysical) { VMOVUPS(m, y) })
}

// dotBF16AVX2: sum of a[i]*widen(b[i]) for i < n (a multiple of 32); bf16 widens exactly by
// a 16-bit left shift of the zero-extended bits.
func dotBF16AVX2() {
	dotAVX2("dotBF16AVX2", "func(a *float32, b *uint16, n int) float32",
		"dotBF16AVX2 returns the dot product of a and the bfloat16 values b over n elements (a multiple of 32).",
		2, func(m Mem, y reg.VecPhysical) {
			VPMOVZXWD(m, y)
			VPSLLD(Imm(16), y, y)
		})
}

// dotAVX2 writes a dot product of float32 a and b, whose elements are size bytes and which
// load widens eight at a time into float32 lanes.
func dotAVX2(name, sig, doc string, size int, load func(m Mem, y reg.VecPhysical)) {
	TEXT(name, NOSPLIT, sig)
	Pragma("noescape")
	Doc(doc)
	a := Load(Param("a"), reg.RAX)
	b := Load(Param("b"), reg.RCX)
	n := Load(Param("n"), reg.RDX)
	acc := []reg.VecPhysical{reg.Y0, reg.Y1, reg.Y2, reg.Y3}
	for _, y := range acc {
		VXORPS(y, y, y)
	}
	t := []reg.VecPhysical{reg.Y4, reg.Y5, reg.Y6, reg.Y7}
	loop, done := name+"_loop", name+"_done"
	Label(loop)
	CMPQ(n, Imm(32))
	JL(LabelRef(done))
	for i := range 4 {
		load(Mem{Base: b, Disp: 8 * size * i}, t[i])
		VFMADD231PS(Mem{Base: a, Disp: 32 * i}, t[i], acc[i])
	}
	ADDQ(U32(128), a)
	ADDQ(U32(32*size), b)
	SUBQ(U32(32), n)
	JMP(LabelRef(loop))
	Label(done)
	reduceStoreY(acc)
}

// reduceStoreY adds the four accumulators, reduces the eight lanes and stores the float32
// result.
func reduceStoreY(acc []reg.VecPhysical) {
	VADDPS(acc[1], acc[0], acc[0])
	VADDPS(acc[3], acc[2], acc[2])
	VADDPS(acc[2], acc[0], acc[0])
	x := reg.X1
	VEXTRACTF128(Imm(1), acc[0], x)
	VADDPS(reg.X0, x, x)
	x2 := reg.X2
	VMOVHLPS(x, x, x2)
	VADDPS(x2, x, x)
	VMOVSHDUP(x, x2)
	VADDSS(x2, x, x)
	Store(x, ReturnIndex(0))
	VZEROUPPER()
	RET()
}

// gemmKernelBF16WidenAVX2 is gemmKernelBF16WidenAVX512 (bf16.go) for AVX2: the 12x32 tile
// as four 6x16 sub-tiles, as gemmKernelAVX2 computes it. Per pair, B's 16 words are widened
// twice into the two B registers: the odd (high) elements with a masked AND, then the even
// ones by a shift of the reloaded words; A's rounded rows are read in place (rows 3j to
// 3j+2 at base j plus 0, 1 and 2 strides).
func gemmKernelBF16WidenAVX2() {
	TEXT("gemmKernelBF16WidenAVX2", NOSPLIT, "func(kp int, a *float32, lda int, b *uint32, c *float32, ldc int)")
	Pragma("noescape")
	Doc("gemmKernelBF16WidenAVX2 adds the 12x32 product of row-major a (12 rows of 2kp values, row stride lda) and pair-interleaved bf16 words b (kp x 32) into c.")
	kp := Load(Param("kp"), reg.RAX)
	a := Load(Param("a"), reg.RCX)
	lda := Load(Param("lda"), reg.RDX)
	b := Load(Param("b"), reg.RBX)
	SHLQ(Imm(2), lda)
	n, bp, a0, a1 := reg.RDI, reg.R8, reg.R9, reg.R10
	acc := []reg.VecPhysical{reg.Y0, reg.Y1, reg.Y2, reg.Y3, reg.Y4, reg.Y5, reg.Y6, reg.Y7, reg.Y8, reg.Y9, reg.Y10, reg.Y11}
	b0, b1, t := reg.Y12, reg.Y13, reg.Y14
	high := broadcastY(0xffff0000, reg.R11, reg.Y15)
	row := func(i, disp int) Mem { return rowMem([]reg.Register{a0, a1}, lda, i, disp) } // i < 6: the sub-tile's rows
	for sub := range 4 {
		rowHalf, colHalf := sub/2, sub%2
		for _, z := range acc {
			VXORPS(z, z, z)
		}
		MOVQ(kp, n)
		MOVQ(a, a0) // a0 = a + 6·rowHalf rows, a1 = a0 + 3 rows
		for range 6 * rowHalf {
			ADDQ(lda, a0)
		}
		LEAQ(Mem{Base: a0, Index: lda, Scale: 2}, a1)
		ADDQ(lda, a1)
		LEAQ(Mem{Base: b, Disp: colHalf * 16 * 4}, bp)
		loop, store := fmt.Sprintf("widen2_loop_%d", sub), fmt.Sprintf("widen2_store_%d", sub)
		Label(loop)
		TESTQ(n, n)
		JZ(LabelRef(store))
		VPAND(Mem{Base: bp}, high, b0)
		VPAND(Mem{Base: bp, Disp: 32}, high, b1)
		for i := range 6 { // the odd elements
			VBROADCASTSS(row(i, 4), t)
			VFMADD231PS(t, b0, acc[2*i])
			VFMADD231PS(t, b1, acc[2*i+1])
		}
		VMOVDQU(Mem{Base: bp}, b0)
		VMOVDQU(Mem{Base: bp, Disp: 32}, b1)
		VPSLLD(Imm(16), b0, b0)
		VPSLLD(Imm(16), b1, b1)
		for i := range 6 { // the even ones
			VBROADCASTSS(row(i, 0), t)
			VFMADD231PS(t, b0, acc[2*i])
			VFMADD231PS(t, b1, acc[2*i+1])
		}
		ADDQ(Imm(8), a0)
		ADDQ(Imm(8), a1)
		ADDQ(U32(nr*4), bp)
		DECQ(n)
		JMP(LabelRef(loop))
		Label(store)
		c, ldc := reg.RSI, reg.R11
		Load(Param("c"), c)
		Load(Param("ldc"), ldc)
		SHLQ(Imm(2), ldc)
		addSubTile(acc, c, ldc, rowHalf, colHalf)
	}
	VZEROUPPER()
	RET()
}

// roundBF16sAVX2 is roundBF16sAVX512 (bf16.go) for AVX2: compares into lane masks and
// byte blends instead of mask registers.
func roundBF16sAVX2() {
	TEXT("roundBF16sAVX2", NOSPLIT, "func(dst, src *float32, n int)")
	Pragma("noescape")
	Doc("roundBF16sAVX2 sets dst[i] to src[i] rounded to bfloat16 (nearest even, NaN quieted, subnormals to zero) for i < n (a multiple of 8).")
	dst := Load(Param("dst"), reg.RAX)
	src := Load(Param("src"), reg.RCX)
	n := Load(Param("n"), reg.RDX)
	konst := func(v uint32, y reg.VecPhysical) reg.VecPhysical { return broadcastY(v, reg.RBX, y) }
	bias, one, high := konst(0x7fff, reg.Y8), konst(1, reg.Y9), konst(0xffff0000, reg.Y10)
	abs, inf, quiet := konst(0x7fffffff, reg.Y11), konst(0x7f800000, reg.Y12), konst(0x00400000, reg.Y13)
	sign := konst(0x80000000, reg.Y14)
	zero := reg.Y15
	VPXOR(zero, zero, zero)
	u, r, t, m := reg.Y0, reg.Y1, reg.Y2, reg.Y3

	Label("round2_loop")
	TESTQ(n, n)
	JZ(LabelRef("round2_done"))
	VMOVDQU(Mem{Base: src}, u)
	VPSRLD(Imm(16), u, t) // r = (u + 0x7fff + (u>>16)&1) & 0xffff0000
	VPAND(one, t, t)
	VPADDD(bias, u, r)
	VPADDD(t, r, r)
	VPAND(abs, u, t) // NaN: |u| > inf; r = u | quiet
	VPCMPGTD(inf, t, m)
	VPOR(quiet, u, t)
	VPBLENDVB(m, t, r, r)
	VPAND(high, r, r)
	VPAND(inf, r, t) // a zero exponent: keep the sign only
	VPCMPEQD(zero, t, m)
	VPAND(sign, r, t)
	VPBLENDVB(m, t, r, r)
	VMOVDQU(r, Mem{Base: dst})
	ADDQ(Imm(32), src)
	ADDQ(Imm(32), dst)
	SUBQ(Imm(8), n)
	JMP(LabelRef("round2_loop"))
	Label("round2_done")
	VZEROUPPER()
	RET()
}
