package kernels

import "math"

// Float is the element type of a forward pass: float32 for inference and training, float64
// for the trainer's gradient-check mode, whose finite differences need the precision. The
// float64 kernels are plain loops: correct, not fast.
type Float interface{ float32 | float64 }

// F64Mat wraps a float64 slice as a rows x cols matrix with the given row stride.
func F64Mat(data []float64, rows, cols, stride int) Mat {
	return Mat{DType: F64, Rows: rows, Cols: cols, Stride: stride, F64: data}
}

// MatOf wraps a slice of either float type as a matrix.
func MatOf[F Float](data []F, rows, cols, stride int) Mat {
	switch d := any(data).(type) {
	case []float32:
		return F32Mat(d, rows, cols, stride)
	case []float64:
		return F64Mat(d, rows, cols, stride)
	}
	panic("unreachable")
}

// RowOf widens row r of m into dst (len Cols). A float32 dst reads any dtype but F64; a
// float64 dst reads F64 matrices as they are and others widened through float32.
func RowOf[F Float](dst []F, m Mat, r int) {
	switch d := any(dst).(type) {
	case []float32:
		m.Row(d, r)
	case []float64:
		if m.DType == F64 {
			s := m.stride()
			copy(d[:m.Cols], m.F64[r*s:r*s+m.Cols])
			return
		}
		tmp := make([]float32, m.Cols)
		m.Row(tmp, r)
		for i, v := range tmp {
			d[i] = float64(v)
		}
	}
}

// MatMul is [Gemm] for float32 operands and [Gemm64] for float64 ones.
func MatMul[F Float](m, n, k int, a []F, lda int, b Mat, transB bool, c []F, ldc int, accumulate bool) {
	switch a := any(a).(type) {
	case []float32:
		Gemm(m, n, k, a, lda, b, transB, any(c).([]float32), ldc, accumulate)
	case []float64:
		Gemm64(m, n, k, a, lda, b, transB, any(c).([]float64), ldc, accumulate)
	}
}

// Gemm64 is [Gemm] in float64 over an F64 matrix B, rows split over the workers.
func Gemm64(m, n, k int, a []float64, lda int, b Mat, transB bool, c []float64, ldc int, accumulate bool) {
	if m < 0 || n < 0 || k < 0 || lda < k || ldc < n || b.DType != F64 {
		panic("kernels: bad gemm64 shape")
	}
	b.check()
	if (transB && (b.Rows != n || b.Cols != k)) || (!transB && (b.Rows != k || b.Cols != n)) {
		panic("kernels: gemm B shape mismatch")
	}
	s := b.stride()
	ParallelFor(m, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			ci := c[i*ldc : i*ldc+n]
			if !accumulate {
				clear(ci)
			}
			ai := a[i*lda : i*lda+k]
			if transB {
				for j := range n {
					bj := b.F64[j*s : j*s+k]
					var sum float64
					for p, v := range ai {
						sum += v * bj[p]
					}
					ci[j] += sum
				}
				continue
			}
			for p, v := range ai {
				for j, bv := range b.F64[p*s : p*s+n] {
					ci[j] += v * bv
				}
			}
		}
	})
}

// GELUTanh64 is [GELUTanh] in float64.
func GELUTanh64(x []float64) {
	const c = 0.7978845608028654 // sqrt(2/pi)
	for i, v := range x {
		x[i] = 0.5 * v * (1 + math.Tanh(c*(v+0.044715*v*v*v)))
	}
}

// SiLU64 is [SiLU] in float64.
func SiLU64(x []float64) {
	for i, v := range x {
		x[i] = v / (1 + math.Exp(-v))
	}
}

// attention64 is [Attention.Run] in float64: per head and query row, the softmax over the
// visible keys, then its weighted sum of values.
func attention64(a *Attention[float64]) {
	rep, hd := a.Heads/a.KVHeads, a.HeadDim
	scale := a.Scale
	ParallelFor(a.Heads, func(lo, hi int) {
		p := make([]float64, a.T)
		for h := lo; h < hi; h++ {
			kvh := h / rep
			for i := range a.N {
				pos := a.Pos0 + i
				k0 := 0
				if a.Window > 0 {
					k0 = max(0, pos-a.Window+1)
				}
				q := a.Q[i*a.QStride+h*hd:][:hd]
				mx := math.Inf(-1)
				for j := k0; j <= pos; j++ {
					k := a.K[j*a.KVStride+kvh*hd:][:hd]
					var s float64
					for c, v := range q {
						s += v * k[c]
					}
					p[j] = s * scale
					mx = max(mx, p[j])
				}
				var sum float64
				for j := k0; j <= pos; j++ {
					p[j] = math.Exp(p[j] - mx)
					sum += p[j]
				}
				o := a.Out[i*a.OutStride+h*hd:][:hd]
				clear(o)
				for j := k0; j <= pos; j++ {
					v := a.V[j*a.KVStride+kvh*hd:][:hd]
					w := p[j] / sum
					for c := range o {
						o[c] += w * v[c]
					}
				}
			}
		}
	})
}
