//go:build amd64 && !purego

package kernels

// The vector loops follow the active GEMM variant, so Use(v) (and GODEBUG's cpu.avx512f=off)
// switches every assembly loop at once and tests reach each one through Variants.

// usesZMM reports whether v is one of the AVX-512 variants.
func usesZMM(v *Variant) bool { return v == amx || v == avx512 || v == avx512bf16 }

func expSum(x []float32, m float32) float64 {
	v := active()
	if v == generic || len(x) < 16 {
		return expSumGeneric(x, m)
	}
	n := len(x) &^ 15
	var sums [16]float32
	if usesZMM(v) {
		expSumAVX512(&x[0], n, m, &sums)
	} else {
		expSumAVX2(&x[0], n, m, &sums)
	}
	var s float64
	for _, v := range sums {
		s += float64(v)
	}
	return s + expSumGeneric(x[n:], m)
}

func geluTanh(x []float32) {
	// gelu(x) = 0.5x(1+tanh(u)) = x·sigmoid(2u), u = √(2/π)(x + 0.044715x³).
	const a = 2 * 0.7978845608028654
	if !xSigmoidVec(x, a, a*0.044715) {
		geluTanhGeneric(x)
	}
}

func xSigmoid(x []float32, a, b float32) {
	if !xSigmoidVec(x, a, b) {
		xSigmoidGeneric(x, a, b)
	}
}

// xSigmoidVec runs the vector x·sigmoid loop and the generic tail, or reports false when
// the generic loop must do it all.
func xSigmoidVec(x []float32, a, b float32) bool {
	v := active()
	if v == generic || len(x) < 16 {
		return false
	}
	n := len(x) &^ 15
	if usesZMM(v) {
		xSigmoidAVX512(&x[0], n, a, b)
	} else {
		xSigmoidAVX2(&x[0], n, a, b)
	}
	xSigmoidGeneric(x[n:], a, b)
	return true
}

func dotF32(a, b []float32) float32 {
	n := len(b) &^ 31
	v := active()
	if v == generic || n == 0 {
		return dotF32Generic(a, b)
	}
	a = a[:len(b)]
	var s float32
	if usesZMM(v) {
		s = dotF32AVX512(&a[0], &b[0], n)
	} else {
		s = dotF32AVX2(&a[0], &b[0], n)
	}
	return s + dotF32Generic(a[n:], b[n:])
}

func dotBF16(a []float32, b []uint16) float32 {
	n := len(b) &^ 31
	v := active()
	if v == generic || n == 0 {
		return dotBF16Generic(a, b)
	}
	a = a[:len(b)]
	var s float32
	if usesZMM(v) {
		s = dotBF16AVX512(&a[0], &b[0], n)
	} else {
		s = dotBF16AVX2(&a[0], &b[0], n)
	}
	return s + dotBF16Generic(a[n:], b[n:])
}

// roundBF16s sets dst[i] = BF16ToF32(roundBF16(src[i])); dst may be src.
func roundBF16s(dst, src []float32) {
	n := 0
	switch v := active(); {
	case usesZMM(v) && len(src) >= 16:
		n = len(src) &^ 15
		_ = dst[n-1]
		roundBF16sAVX512(&dst[0], &src[0], n)
	case v == avx2 && len(src) >= 8:
		n = len(src) &^ 7
		_ = dst[n-1]
		roundBF16sAVX2(&dst[0], &src[0], n)
	}
	roundBF16sGeneric(dst[n:], src[n:])
}
