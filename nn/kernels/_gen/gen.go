// Command gen writes the AVX-512 and AVX2 assembly of package kernels with avo.
//
//	cd nn/kernels/_gen && go run . -out ../kernels_amd64.s -stubs ../kernels_stubs_amd64.go -pkg kernels
package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// Micro-tile shape: mr rows of A times nr columns of B (two 16-lane zmm registers), 24
// accumulators, which with two B registers fits the 32 zmm registers.
const (
	mr = 12
	nr = 32
)

func main() {
	// Signatures are spelled out: this module cannot import package kernels.
	ConstraintExpr("amd64,!purego")
	gemmKernel()
	expConsts()
	expSum()
	xSigmoid()
	dotF32()
	dotBF16()
	avx2()
	gemmKernelBF16()
	gemmKernelBF16Widen()
	roundBF16s()
	amxTileBF16()
	Generate()
}

// gemmKernel: c[i*ldc+j] += sum_p a[p*mr+i] * b[p*nr+j] for i<mr, j<nr, p<k.
// a and b are packed panels; k >= 1.
func gemmKernel() {
	TEXT("gemmKernelAVX512", NOSPLIT, "func(k int, a, b, c *float32, ldc int)")
	Pragma("noescape")
	Doc("gemmKernelAVX512 adds the 12x32 product of packed panels a (k x 12) and b (k x 32) into c.")
	k := Load(Param("k"), GP64())
	a := Load(Param("a"), GP64())
	b := Load(Param("b"), GP64())
	c := Load(Param("c"), GP64())
	ldc := Load(Param("ldc"), GP64())

	acc := make([]reg.VecVirtual, 0, 2*mr)
	for i := 0; i < 2*mr; i++ {
		z := ZMM()
		VXORPS(z, z, z)
		acc = append(acc, z)
	}
	b0, b1 := ZMM(), ZMM()

	step := func(off int) {
		VMOVUPS(Mem{Base: b, Disp: off * nr * 4}, b0)
		VMOVUPS(Mem{Base: b, Disp: off*nr*4 + 64}, b1)
		for i := 0; i < mr; i++ {
			m := Mem{Base: a, Disp: (off*mr + i) * 4}
			VFMADD231PS_BCST(m, b0, acc[2*i])
			VFMADD231PS_BCST(m, b1, acc[2*i+1])
		}
	}

	// Unrolled by four, then the remainder one step at a time.
	Label("loop4")
	CMPQ(k, Imm(4))
	JL(LabelRef("tail"))
	for u := 0; u < 4; u++ {
		step(u)
	}
	ADDQ(U32(4*mr*4), a)
	ADDQ(U32(4*nr*4), b)
	SUBQ(Imm(4), k)
	JMP(LabelRef("loop4"))

	Label("tail")
	TESTQ(k, k)
	JZ(LabelRef("store"))
	step(0)
	ADDQ(U32(mr*4), a)
	ADDQ(U32(nr*4), b)
	DECQ(k)
	JMP(LabelRef("tail"))

	Label("store")
	addTile(acc, c, ldc)
	VZEROUPPER()
	RET()
	_ = fmt.Sprint
}

// addTile adds the zmm accumulators of a 12x32 tile (row i in acc[2i] and acc[2i+1]) to the
// tile at c, whose row stride ldc is in elements (scaled to bytes here), and stores them.
func addTile[V reg.Register](acc []V, c, ldc reg.Register) {
	SHLQ(Imm(2), ldc)
	for i := range mr {
		VADDPS(Mem{Base: c}, acc[2*i], acc[2*i])
		VADDPS(Mem{Base: c, Disp: 64}, acc[2*i+1], acc[2*i+1])
		VMOVUPS(acc[2*i], Mem{Base: c})
		VMOVUPS(acc[2*i+1], Mem{Base: c, Disp: 64})
		if i < mr-1 {
			ADDQ(ldc, c)
		}
	}
}

// Exponential constants (Cephes expf): clamp bounds, log2(e), ln2 split in two, polynomial.
var expC = []float32{
	88.72283, -103.972, 1.44269504088896341, 0.693359375, -2.12194440e-4,
	1.9875691500e-4, 1.3981999507e-3, 8.3334519073e-3, 4.1665795894e-2, 1.6666665459e-1, 5.0000001201e-1, 1,
}

var expConstMem Mem

func expConsts() {
	expConstMem = GLOBL("expconsts", RODATA|NOPTR)
	for i, v := range expC {
		DATA(4*i, F32(v))
	}
}

func bcast(i int) reg.VecVirtual {
	z := ZMM()
	VBROADCASTSS(expConstMem.Offset(4*i), z)
	return z
}

// expZ sets x = exp(x) in place: x = 2^n * p(r) with n = round(x*log2e), r = x - n*ln2.
func expZ(x reg.VecVirtual, c []reg.VecVirtual) {
	VMINPS(c[0], x, x)
	VMAXPS(c[1], x, x)
	n := ZMM()
	VMULPS(c[2], x, n)
	VRNDSCALEPS(Imm(0), n, n)
	VFNMADD231PS(c[3], n, x)
	VFNMADD231PS(c[4], n, x)
	p := ZMM()
	VMOVAPS(c[5], p)
	for i := 6; i <= 10; i++ {
		VFMADD213PS(c[i], x, p)
	}
	r2 := ZMM()
	VMULPS(x, x, r2)
	VFMADD213PS(x, r2, p) // p = p*r² + r
	VADDPS(c[11], p, p)
	VSCALEFPS(n, p, x)
}

func loadExpConsts() []reg.VecVirtual {
	c := make([]reg.VecVirtual, len(expC))
	for i := range expC {
		c[i] = bcast(i)
	}
	return c
}

// expSum: for i < n (a multiple of 16): x[i] = exp(x[i]-m); sums[l] += x[i] for lane l = i%16.
func expSum() {
	TEXT("expSumAVX512", NOSPLIT, "func(x *float32, n int, m float32, sums *[16]float32)")
	Pragma("noescape")
	Doc("expSumAVX512 sets x[i] = exp(x[i]-m) for i < n (a multiple of 16) and stores 16 lane sums.")
	x := Load(Param("x"), GP64())
	n := Load(Param("n"), GP64())
	sums := Load(Param("sums"), GP64())
	mz := ZMM()
	VBROADCASTSS(NewParamAddr("m", 16), mz)
	c := loadExpConsts()
	acc := ZMM()
	VXORPS(acc, acc, acc)
	v := ZMM()
	Label("expsum_loop")
	CMPQ(n, Imm(16))
	JL(LabelRef("expsum_done"))
	VMOVUPS(Mem{Base: x}, v)
	VSUBPS(mz, v, v)
	expZ(v, c)
	VMOVUPS(v, Mem{Base: x})
	VADDPS(v, acc, acc)
	ADDQ(U32(64), x)
	SUBQ(U32(16), n)
	JMP(LabelRef("expsum_loop"))
	Label("expsum_done")
	VMOVUPS(acc, Mem{Base: sums})
	VZEROUPPER()
	RET()
}

// xSigmoid: x[i] = x[i] / (1 + exp(-(a*x[i] + b*x[i]^3))) for i < n (a multiple of 16).
// With a=1, b=0 this is SiLU; with a=2√(2/π), b=a·0.044715 it is GELU's tanh form.
func xSigmoid() {
	TEXT("xSigmoidAVX512", NOSPLIT, "func(x *float32, n int, a, b float32)")
	Pragma("noescape")
	Doc("xSigmoidAVX512 sets x[i] = x[i]/(1+exp(-(a*x[i]+b*x[i]^3))) for i < n (a multiple of 16).")
	x := Load(Param("x"), GP64())
	n := Load(Param("n"), GP64())
	az, bz := ZMM(), ZMM()
	VBROADCASTSS(NewParamAddr("a", 16), az)
	VBROADCASTSS(NewParamAddr("b", 20), bz)
	c := loadExpConsts()
	v, z, t := ZMM(), ZMM(), ZMM()
	Label("xsig_loop")
	CMPQ(n, Imm(16))
	JL(LabelRef("xsig_done"))
	VMOVUPS(Mem{Base: x}, v)
	xSigmoidStep(v, z, t, az, bz, func(z Op) { expZ(z.(reg.VecVirtual), c) }, c[11])
	VMOVUPS(v, Mem{Base: x})
	ADDQ(U32(64), x)
	SUBQ(U32(16), n)
	JMP(LabelRef("xsig_loop"))
	Label("xsig_done")
	VZEROUPPER()
	RET()
}

// xSigmoidStep sets v = v / (1 + exp(-(a·v + b·v³))) lane-wise, with z and t as scratch;
// exp sets its register to its exponential and one holds 1.
func xSigmoidStep(v, z, t, az, bz Op, exp func(Op), one Op) {
	VMULPS(v, v, t)  // x²
	VMULPS(bz, t, t) // b·x²
	VADDPS(az, t, t) // a + b·x²
	VMULPS(v, t, z)  // a·x + b·x³
	VXORPS(t, t, t)
	VSUBPS(z, t, z) // negate
	exp(z)
	VADDPS(one, z, z) // 1 + e
	VDIVPS(z, v, v)   // x / (1+e)
}

// dotF32: sum of a[i]*b[i] for i < n (a multiple of 32), four independent accumulators.
func dotF32() {
	TEXT("dotF32AVX512", NOSPLIT, "func(a, b *float32, n int) float32")
	Pragma("noescape")
	Doc("dotF32AVX512 returns the dot product of a and b over n elements (a multiple of 32).")
	a := Load(Param("a"), GP64())
	b := Load(Param("b"), GP64())
	n := Load(Param("n"), GP64())
	acc := []reg.VecVirtual{ZMM(), ZMM()}
	for _, z := range acc {
		VXORPS(z, z, z)
	}
	t0, t1 := ZMM(), ZMM()
	Label("dotf_loop")
	CMPQ(n, Imm(32))
	JL(LabelRef("dotf_done"))
	VMOVUPS(Mem{Base: b}, t0)
	VMOVUPS(Mem{Base: b, Disp: 64}, t1)
	VFMADD231PS(Mem{Base: a}, t0, acc[0])
	VFMADD231PS(Mem{Base: a, Disp: 64}, t1, acc[1])
	ADDQ(U32(128), a)
	ADDQ(U32(128), b)
	SUBQ(U32(32), n)
	JMP(LabelRef("dotf_loop"))
	Label("dotf_done")
	reduceStore(acc)
}

// dotBF16: sum of a[i]*widen(b[i]) for i < n (a multiple of 32); bf16 widens exactly by a
// 16-bit left shift of the zero-extended bits.
func dotBF16() {
	TEXT("dotBF16AVX512", NOSPLIT, "func(a *float32, b *uint16, n int) float32")
	Pragma("noescape")
	Doc("dotBF16AVX512 returns the dot product of a and the bfloat16 values b over n elements (a multiple of 32).")
	a := Load(Param("a"), GP64())
	b := Load(Param("b"), GP64())
	n := Load(Param("n"), GP64())
	acc := []reg.VecVirtual{ZMM(), ZMM()}
	for _, z := range acc {
		VXORPS(z, z, z)
	}
	t0, t1 := ZMM(), ZMM()
	Label("dotb_loop")
	CMPQ(n, Imm(32))
	JL(LabelRef("dotb_done"))
	VPMOVZXWD(Mem{Base: b}, t0)
	VPMOVZXWD(Mem{Base: b, Disp: 32}, t1)
	VPSLLD(Imm(16), t0, t0)
	VPSLLD(Imm(16), t1, t1)
	VFMADD231PS(Mem{Base: a}, t0, acc[0])
	VFMADD231PS(Mem{Base: a, Disp: 64}, t1, acc[1])
	ADDQ(U32(128), a)
	ADDQ(U32(64), b)
	SUBQ(U32(32), n)
	JMP(LabelRef("dotb_loop"))
	Label("dotb_done")
	reduceStore(acc)
}

// reduceStore adds the accumulators, reduces the 16 lanes and stores the float32 result.
func reduceStore(acc []reg.VecVirtual) {
	VADDPS(acc[1], acc[0], acc[0])
	y := YMM()
	VEXTRACTF32X8(Imm(1), acc[0], y)
	VADDPS(acc[0].AsY(), y, y)
	x := XMM()
	VEXTRACTF128(Imm(1), y, x)
	VADDPS(y.AsX(), x, x)
	x2 := XMM()
	VMOVHLPS(x, x, x2)
	VADDPS(x2, x, x)
	VMOVSHDUP(x, x2)
	VADDSS(x2, x, x)
	Store(x, ReturnIndex(0))
	VZEROUPPER()
	RET()
}
