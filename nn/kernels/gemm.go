package kernels

import (
	"sync"
)

// Mat is a read-only row-major matrix in its stored dtype: element (r, c) is at r*Stride+c of
// F32 (dtype F32), of U16 (BF16 or F16 bit patterns) or of F64 (dtype F64, read only by
// [Gemm64]). Stride 0 means Cols.
type Mat struct {
	DType      DType
	Rows, Cols int
	Stride     int
	F32        []float32
	U16        []uint16
	F64        []float64
	packed     *PackedBF16 // set by WithBF16: GEMMs then run in bf16
}

// F32Mat wraps a float32 slice as a rows x cols matrix with the given row stride.
func F32Mat(data []float32, rows, cols, stride int) Mat {
	return Mat{DType: F32, Rows: rows, Cols: cols, Stride: stride, F32: data}
}

func (m Mat) stride() int {
	if m.Stride == 0 {
		return m.Cols
	}
	return m.Stride
}

// check panics when the backing slice cannot hold the matrix.
func (m Mat) check() {
	if m.Rows < 0 || m.Cols < 0 || m.Stride < 0 || (m.Stride != 0 && m.Stride < m.Cols) {
		panic("kernels: bad matrix shape")
	}
	if m.Rows == 0 || m.Cols == 0 {
		return
	}
	need := (m.Rows-1)*m.stride() + m.Cols
	switch m.DType {
	case F32:
		if len(m.F32) < need {
			panic("kernels: matrix data too short")
		}
	case BF16, F16:
		if len(m.U16) < need {
			panic("kernels: matrix data too short")
		}
	case F64:
		if len(m.F64) < need {
			panic("kernels: matrix data too short")
		}
	default:
		panic("kernels: bad matrix dtype")
	}
}

// Row widens row r into dst (len Cols).
func (m Mat) Row(dst []float32, r int) {
	if m.Cols == 0 {
		return
	}
	s := m.stride()
	switch m.DType {
	case F32:
		copy(dst[:m.Cols], m.F32[r*s:r*s+m.Cols])
	case BF16:
		src := m.U16[r*s : r*s+m.Cols]
		for i, u := range src {
			dst[i] = BF16ToF32(u)
		}
	case F16:
		src := m.U16[r*s : r*s+m.Cols]
		for i, u := range src {
			dst[i] = F16ToF32(u)
		}
	}
}

// Micro-tile shape shared by every kernel variant (see _gen/gen.go).
const (
	mr = 12
	nr = 32
	// Cache blocking: a kc x nr panel of B (32 KiB) stays in L1 while mc x kc of A (in L2)
	// streams past it; nc x kc of packed B is at most 1 MiB.
	kc = 256
	mc = 144
	nc = 1024
)

// kernelFunc adds the mr x nr product of packed panels a (k x mr) and b (k x nr) into c.
type kernelFunc func(k int, a, b, c *float32, ldc int)

type gemmBufs struct {
	a, b []float32
	tile [mr * nr]float32
}

var bufPool = sync.Pool{New: func() any {
	return &gemmBufs{a: make([]float32, mc*kc), b: make([]float32, nc*kc)}
}}

// Gemm computes C = A·op(B), or C += A·op(B) when accumulate is set, where A is m x k (row
// stride lda), C is m x n (row stride ldc), and op(B) is B (k x n) or, when transB is set,
// the transpose of B (n x k; the layout of a torch Linear weight). The work is split over
// [Workers] goroutines. For m <= 2 (token-by-token generation) B is streamed with dot
// products instead of being packed. A B carrying a bf16 packing ([Mat.WithBF16]) runs the
// bf16 GEMM, whose numerics bf16.go describes.
func Gemm(m, n, k int, a []float32, lda int, b Mat, transB bool, c []float32, ldc int, accumulate bool) {
	checkGemm(m, n, k, a, lda, b, transB, c, ldc)
	if m == 0 || n == 0 {
		return
	}
	if m <= gemvRows && k > 0 && b.packed == nil {
		parts := splitEven(n, Workers(), 256)
		parallel(len(parts), func(i int) {
			gemv(m, k, a, lda, b, transB, c, ldc, accumulate, parts[i][0], parts[i][1])
		})
		return
	}
	v := variantFor(b)
	var pa bf16A
	if b.packed != nil {
		pa = prepareBF16A(m, k, a, lda, ParallelFor)
		defer pa.release()
	}
	w := Workers()
	serial := func(r0, r1, c0, c1 int) {
		if b.packed != nil {
			gemmBF16Serial(v, r1-r0, c1-c0, pa.from(r0), b.packed.cols(c0), c[r0*ldc+c0:], ldc, accumulate)
			return
		}
		gemmSerial(v.kernel, r1-r0, c1-c0, k, a[r0*lda:], lda, b.colSlice(c0, transB), transB, c[r0*ldc+c0:], ldc, accumulate)
	}
	// Split the longer output side, in whole micro-tiles, when there is enough work: about
	// four chunks per worker, taken dynamically (see ParallelFor).
	if w > 1 && 2*m*n*k >= 1<<22 {
		if n >= m && n >= 2*nr {
			parts := splitEven(n, chunks(n/256, w), nr)
			dynamic(len(parts), func(i int) { serial(0, m, parts[i][0], parts[i][1]) })
			return
		}
		if m >= 2*mr {
			parts := splitEven(m, chunks(m/mc, w), mr)
			dynamic(len(parts), func(i int) { serial(parts[i][0], parts[i][1], 0, n) })
			return
		}
	}
	serial(0, m, 0, n)
}

// variantFor is the variant a GEMM on b runs: the bf16 GEMM's for a bf16-packed b.
func variantFor(b Mat) *Variant {
	if b.packed != nil {
		return activeBF16()
	}
	return active()
}

// chunks picks how many pieces to cut work of about units pieces into for w workers: a
// multiple of w (so the last round is full) between w and 4w.
func chunks(units, w int) int {
	c := min(max(units, w), 4*w)
	return c - c%w
}

// GemmSerial is Gemm on the calling goroutine only, for callers that parallelize outside
// (attention heads).
func GemmSerial(m, n, k int, a []float32, lda int, b Mat, transB bool, c []float32, ldc int, accumulate bool) {
	checkGemm(m, n, k, a, lda, b, transB, c, ldc)
	if m == 0 || n == 0 {
		return
	}
	if m <= gemvRows && k > 0 && b.packed == nil {
		gemv(m, k, a, lda, b, transB, c, ldc, accumulate, 0, n)
		return
	}
	v := variantFor(b)
	if b.packed != nil {
		pa := prepareBF16A(m, k, a, lda, serialFor)
		defer pa.release()
		gemmBF16Serial(v, m, n, pa, b.packed, c, ldc, accumulate)
		return
	}
	gemmSerial(v.kernel, m, n, k, a, lda, b, transB, c, ldc, accumulate)
}

func checkGemm(m, n, k int, a []float32, lda int, b Mat, transB bool, c []float32, ldc int) {
	if m < 0 || n < 0 || k < 0 || lda < k || ldc < n {
		panic("kernels: bad gemm shape")
	}
	b.check()
	if b.DType == F64 {
		panic("kernels: float32 gemm of an F64 matrix")
	}
	if transB {
		if b.Rows != n || b.Cols != k {
			panic("kernels: gemm B shape mismatch")
		}
	} else if b.Rows != k || b.Cols != n {
		panic("kernels: gemm B shape mismatch")
	}
	if p := b.packed; p != nil && (p.n != n || p.k != k || p.transB != transB) {
		panic("kernels: gemm B packed in another orientation")
	}
	if m > 0 && k > 0 && len(a) < (m-1)*lda+k {
		panic("kernels: gemm A too short")
	}
	if m > 0 && n > 0 && len(c) < (m-1)*ldc+n {
		panic("kernels: gemm C too short")
	}
}

// colSlice returns the part of op(B) from output column lo on.
func (m Mat) colSlice(lo int, transB bool) Mat {
	if lo == 0 {
		return m
	}
	s := m.stride()
	out := m
	out.Stride = s
	if m.packed != nil {
		out.packed = m.packed.cols(lo)
	}
	if transB {
		out.Rows -= lo
		m.offset(&out, lo*s)
	} else {
		out.Cols -= lo
		m.offset(&out, lo)
	}
	return out
}

// RowRange returns rows lo..hi-1 of m, with its bf16 packing when that was packed for
// transB GEMMs (whose output columns are m's rows; lo must then be a multiple of 32).
func (m Mat) RowRange(lo, hi int) Mat {
	if lo < 0 || hi < lo || hi > m.Rows {
		panic("kernels: row range out of bounds")
	}
	out := m
	out.Rows = hi - lo
	out.Stride = m.stride()
	m.offset(&out, lo*out.Stride)
	if m.packed != nil {
		if !m.packed.transB {
			panic("kernels: row range of a matrix packed for B (not Bᵀ) GEMMs")
		}
		out.packed = m.packed.cols(lo)
		out.packed.n = hi - lo
	}
	return out
}

func (m Mat) offset(out *Mat, off int) {
	if m.DType == F32 {
		out.F32 = m.F32[off:]
	} else {
		out.U16 = m.U16[off:]
	}
}

// splitEven cuts n into at most w contiguous parts whose boundaries are multiples of unit.
func splitEven(n, w, unit int) [][2]int {
	units := (n + unit - 1) / unit
	if w > units {
		w = units
	}
	parts := make([][2]int, 0, w)
	lo := 0
	for i := range w {
		hi := min(n, (units*(i+1)/w)*unit)
		if hi > lo {
			parts = append(parts, [2]int{lo, hi})
		}
		lo = hi
	}
	return parts
}

// startC clears C (m x n, row stride ldc) unless accumulating, and reports whether there
// are products to add (k > 0).
func startC(m, n, k int, c []float32, ldc int, accumulate bool) bool {
	if !accumulate {
		for i := range m {
			clear(c[i*ldc : i*ldc+n])
		}
	}
	return k > 0
}

func gemmSerial(kern kernelFunc, m, n, k int, a []float32, lda int, b Mat, transB bool, c []float32, ldc int, accumulate bool) {
	if !startC(m, n, k, c, ldc, accumulate) {
		return
	}
	bufs := bufPool.Get().(*gemmBufs)
	defer bufPool.Put(bufs)
	for jc := 0; jc < n; jc += nc {
		nb := min(nc, n-jc)
		for pc := 0; pc < k; pc += kc {
			kb := min(kc, k-pc)
			packB(bufs.b, b, transB, pc, kb, jc, nb)
			for ic := 0; ic < m; ic += mc {
				mb := min(mc, m-ic)
				packA(bufs.a, a, lda, ic, mb, pc, kb)
				forTiles(mb, nb, c[ic*ldc+jc:], ldc, &bufs.tile, func(ir, jr int, dst *float32, ldd int) {
					kern(kb, &bufs.a[ir*kb], &bufs.b[jr*kb], dst, ldd)
				})
			}
		}
	}
}

// forTiles calls tile for each mr x nr tile of the mb x nb block of c (row stride ldc),
// with the tile's corner in c, or a zeroed scratch tile whose valid part is then added to c
// where the tile crosses the block's edge.
func forTiles(mb, nb int, c []float32, ldc int, scratch *[mr * nr]float32, tile func(ir, jr int, dst *float32, ldd int)) {
	for jr := 0; jr < nb; jr += nr {
		nw := min(nr, nb-jr)
		for ir := 0; ir < mb; ir += mr {
			mh := min(mr, mb-ir)
			co := ir*ldc + jr
			if mh == mr && nw == nr {
				tile(ir, jr, &c[co], ldc)
				continue
			}
			clear(scratch[:])
			tile(ir, jr, &scratch[0], nr)
			for i := range mh {
				row := c[co+i*ldc : co+i*ldc+nw]
				for j := range row {
					row[j] += scratch[i*nr+j]
				}
			}
		}
	}
}

// packA copies A[ic:ic+mb, pc:pc+kb] into panels of mr rows: panel p holds, for each kk,
// the mr values A[ic+p*mr+i, pc+kk], zero-padded past mb.
func packA(dst, a []float32, lda, ic, mb, pc, kb int) {
	for p := 0; p*mr < mb; p++ {
		panel := dst[p*mr*kb : (p+1)*mr*kb]
		rows := min(mr, mb-p*mr)
		for i := range rows {
			src := a[(ic+p*mr+i)*lda+pc : (ic+p*mr+i)*lda+pc+kb]
			for kk, v := range src {
				panel[kk*mr+i] = v
			}
		}
		for i := rows; i < mr; i++ {
			for kk := range kb {
				panel[kk*mr+i] = 0
			}
		}
	}
}

// packB widens op(B)[pc:pc+kb, jc:jc+nb] into panels of nr columns: panel q holds, for each
// kk, the nr values op(B)[pc+kk, jc+q*nr+j], zero-padded past nb.
func packB(dst []float32, b Mat, transB bool, pc, kb, jc, nb int) {
	s := b.stride()
	for q := 0; q*nr < nb; q++ {
		panel := dst[q*nr*kb : (q+1)*nr*kb]
		cols := min(nr, nb-q*nr)
		j0 := jc + q*nr
		if transB {
			// B is n x k: column j of op(B) is row j of B, contiguous in k.
			for j := range cols {
				off := (j0+j)*s + pc
				switch b.DType {
				case F32:
					for kk, v := range b.F32[off : off+kb] {
						panel[kk*nr+j] = v
					}
				case BF16:
					for kk, u := range b.U16[off : off+kb] {
						panel[kk*nr+j] = BF16ToF32(u)
					}
				case F16:
					for kk, u := range b.U16[off : off+kb] {
						panel[kk*nr+j] = F16ToF32(u)
					}
				}
			}
			for j := cols; j < nr; j++ {
				for kk := range kb {
					panel[kk*nr+j] = 0
				}
			}
			continue
		}
		for kk := range kb {
			row := panel[kk*nr : kk*nr+nr]
			off := (pc+kk)*s + j0
			switch b.DType {
			case F32:
				copy(row, b.F32[off:off+cols])
			case BF16:
				for j, u := range b.U16[off : off+cols] {
					row[j] = BF16ToF32(u)
				}
			case F16:
				for j, u := range b.U16[off : off+cols] {
					row[j] = F16ToF32(u)
				}
			}
			clear(row[cols:])
		}
	}
}

// gemmKernelGeneric is the portable micro-kernel and the reference for the others. It
// walks 2 x 4 blocks of the tile with eight scalar accumulators, which the Go compiler keeps
// in registers.
func gemmKernelGeneric(k int, a, b, c *float32, ldc int) {
	pa := unsafeSlice(a, k*mr)
	pb := unsafeSlice(b, k*nr)
	pc := unsafeSlice(c, (mr-1)*ldc+nr)
	for i := 0; i < mr; i += 2 {
		for j := 0; j < nr; j += 4 {
			var s00, s01, s02, s03, s10, s11, s12, s13 float32
			ai, bj := i, j
			for range k {
				a0, a1 := pa[ai], pa[ai+1]
				bb := pb[bj : bj+4 : bj+4]
				b0, b1, b2, b3 := bb[0], bb[1], bb[2], bb[3]
				s00 += a0 * b0
				s01 += a0 * b1
				s02 += a0 * b2
				s03 += a0 * b3
				s10 += a1 * b0
				s11 += a1 * b1
				s12 += a1 * b2
				s13 += a1 * b3
				ai += mr
				bj += nr
			}
			r0 := pc[i*ldc+j : i*ldc+j+4 : i*ldc+j+4]
			r0[0] += s00
			r0[1] += s01
			r0[2] += s02
			r0[3] += s03
			r1 := pc[(i+1)*ldc+j : (i+1)*ldc+j+4 : (i+1)*ldc+j+4]
			r1[0] += s10
			r1[1] += s11
			r1[2] += s12
			r1[3] += s13
		}
	}
}
