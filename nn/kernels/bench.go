package kernels

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"time"
)

// BenchGemm times C = A·Bᵀ for an m x k activation and an n x k weight in dtype (packed for
// the bf16 GEMM when bf16 is set), runs times after a warm-up, and returns GFLOP/s per run
// and the median.
func BenchGemm(m, n, k int, dtype DType, bf16 bool, runs int) ([]float64, float64, error) {
	if m < 1 || n < 1 || k < 1 || runs < 1 || m*k > 1<<28 || n*k > 1<<28 || m*n > 1<<28 {
		return nil, 0, fmt.Errorf("bench gemm: bad sizes %dx%dx%d or runs %d", m, n, k, runs)
	}
	r := rand.New(rand.NewPCG(1, 2))
	a := make([]float32, m*k)
	for i := range a {
		a[i] = float32(r.NormFloat64())
	}
	w := Mat{DType: dtype, Rows: n, Cols: k}
	switch dtype {
	case F32:
		w.F32 = make([]float32, n*k)
		for i := range w.F32 {
			w.F32[i] = float32(r.NormFloat64())
		}
	case BF16, F16:
		w.U16 = make([]uint16, n*k)
		for i := range w.U16 {
			f := float32(r.NormFloat64())
			if dtype == BF16 {
				w.U16[i] = F32ToBF16(f)
			} else {
				w.U16[i] = F32ToF16(f)
			}
		}
	default:
		return nil, 0, fmt.Errorf("bench gemm: bad dtype")
	}
	if bf16 {
		w = w.WithBF16(true)
	}
	c := make([]float32, m*n)
	var out []float64
	for i := range runs + 1 {
		start := time.Now()
		Gemm(m, n, k, a, k, w, true, c, n, false)
		if i > 0 {
			out = append(out, 2*float64(m)*float64(n)*float64(k)/time.Since(start).Seconds()/1e9)
		}
	}
	s := slices.Clone(out)
	slices.Sort(s)
	return out, s[len(s)/2], nil
}
