package kernels

// gemvRows is the largest m for which Gemm skips packing and streams the weight directly
// (token-by-token generation): packing would widen the whole weight for one row.
const gemvRows = 2

// gemv computes C[i, j0:j1] (+)= A_i · op(B)[:, j] for every row i of A, without packing.
func gemv(m, k int, a []float32, lda int, b Mat, transB bool, c []float32, ldc int, accumulate bool, j0, j1 int) {
	s := b.stride()
	for i := range m {
		ai := a[i*lda : i*lda+k]
		ci := c[i*ldc : i*ldc+j1]
		if transB {
			for j := j0; j < j1; j++ {
				v := dotRow(ai, b, j*s, k)
				if accumulate {
					ci[j] += v
				} else {
					ci[j] = v
				}
			}
			continue
		}
		if !accumulate {
			clear(ci[j0:j1])
		}
		// B is k x n: accumulate a[p]·B[p, j0:j1] row by row.
		for p, av := range ai {
			off := p*s + j0
			switch b.DType {
			case F32:
				for j, bv := range b.F32[off : off+j1-j0] {
					ci[j0+j] += av * bv
				}
			case BF16:
				for j, u := range b.U16[off : off+j1-j0] {
					ci[j0+j] += av * BF16ToF32(u)
				}
			case F16:
				for j, u := range b.U16[off : off+j1-j0] {
					ci[j0+j] += av * F16ToF32(u)
				}
			}
		}
	}
}

// dotRow returns a · B.flat[off:off+k] in B's dtype.
func dotRow(a []float32, b Mat, off, k int) float32 {
	switch b.DType {
	case F32:
		return dotF32(a, b.F32[off:off+k])
	case BF16:
		return dotBF16(a, b.U16[off:off+k])
	}
	var s float32
	for i, u := range b.U16[off : off+k] {
		s += a[i] * F16ToF32(u)
	}
	return s
}

func dotF32Generic(a, b []float32) float32 {
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(b); i += 4 {
		s0 += a[i] * b[i]
		s1 += a[i+1] * b[i+1]
		s2 += a[i+2] * b[i+2]
		s3 += a[i+3] * b[i+3]
	}
	for ; i < len(b); i++ {
		s0 += a[i] * b[i]
	}
	return s0 + s1 + s2 + s3
}

func dotBF16Generic(a []float32, b []uint16) float32 {
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(b); i += 4 {
		s0 += a[i] * BF16ToF32(b[i])
		s1 += a[i+1] * BF16ToF32(b[i+1])
		s2 += a[i+2] * BF16ToF32(b[i+2])
		s3 += a[i+3] * BF16ToF32(b[i+3])
	}
	for ; i < len(b); i++ {
		s0 += a[i] * BF16ToF32(b[i])
	}
	return s0 + s1 + s2 + s3
}
