//go:build amd64 && !purego

package kernels

// useVecExp selects the AVX-512 exponential loops; tests flip it to compare with generic.
var useVecExp = avx512.Supported

func expSum(x []float32, m float32) float64 {
	if !useVecExp || len(x) < 16 {
		return expSumGeneric(x, m)
	}
	n := len(x) &^ 15
	var sums [16]float32
	expSumAVX512(&x[0], n, m, &sums)
	var s float64
	for _, v := range sums {
		s += float64(v)
	}
	return s + expSumGeneric(x[n:], m)
}

func geluTanh(x []float32) {
	if !useVecExp || len(x) < 16 {
		geluTanhGeneric(x)
		return
	}
	n := len(x) &^ 15
	// gelu(x) = 0.5x(1+tanh(u)) = x·sigmoid(2u), u = √(2/π)(x + 0.044715x³).
	const a = 2 * 0.7978845608028654
	xSigmoidAVX512(&x[0], n, a, a*0.044715)
	geluTanhGeneric(x[n:])
}

func xSigmoid(x []float32, a, b float32) {
	if !useVecExp || len(x) < 16 {
		xSigmoidGeneric(x, a, b)
		return
	}
	n := len(x) &^ 15
	xSigmoidAVX512(&x[0], n, a, b)
	xSigmoidGeneric(x[n:], a, b)
}

// useVecDot selects the AVX-512 dot products of the GEMV path (it follows the GEMM
// variant, so Use(generic) tests the generic path).
func useVecDot() bool { return active() == avx512 }

func dotF32(a, b []float32) float32 {
	n := len(b) &^ 31
	if !useVecDot() || n == 0 {
		return dotF32Generic(a, b)
	}
	a = a[:len(b)]
	return dotF32AVX512(&a[0], &b[0], n) + dotF32Generic(a[n:], b[n:])
}

func dotBF16(a []float32, b []uint16) float32 {
	n := len(b) &^ 31
	if !useVecDot() || n == 0 {
		return dotBF16Generic(a, b)
	}
	a = a[:len(b)]
	return dotBF16AVX512(&a[0], &b[0], n) + dotBF16Generic(a[n:], b[n:])
}
