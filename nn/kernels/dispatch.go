package kernels

import (
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"
)

// A Variant is one implementation of the GEMM micro-kernel.
type Variant struct {
	Name      string
	Supported bool // the CPU and OS can run it
	kernel    kernelFunc
	// The bf16 GEMM's micro-kernel, one of two: bf16 on packed words (VDPBF16PS, AMX), or
	// bf16Widened, which widens B's words to float32 in registers and reads A's rounded
	// values in place.
	bf16        bf16KernelFunc
	bf16Widened bf16WidenedFunc
	// rowMajorA marks a bf16 kernel that reads A row-major, mr rows of kp words with kp a
	// multiple of amxPairs (the AMX tile kernels, amx.go), instead of packAWords's panels.
	rowMajorA bool
}

// variants lists the micro-kernels, best first; the generic one is last and always supported.
var variants []*Variant

var generic = &Variant{Name: "generic", Supported: true, kernel: gemmKernelGeneric, bf16Widened: gemmKernelBF16WidenGeneric}

// forced, when set, overrides dispatch (tests run every supported variant through it).
var forced atomic.Pointer[Variant]

// Variants lists the GEMM micro-kernels this build has, best first.
func Variants() []*Variant { return append(variants[:len(variants):len(variants)], generic) }

// Use forces a variant until the returned function restores the previous choice. For tests
// and benchmarks; it panics on a variant the CPU does not support.
func Use(v *Variant) (restore func()) {
	if !v.Supported {
		panic("kernels: variant not supported on this CPU")
	}
	prev := forced.Swap(v)
	return func() { forced.Store(prev) }
}

// Active names the micro-kernel the float32 GEMMs use, or with bf16 the bf16 GEMM's.
func Active(bf16 bool) string {
	if bf16 {
		return activeBF16().Name
	}
	return active().Name
}

func active() *Variant {
	if v := forced.Load(); v != nil {
		return v
	}
	for _, v := range variants {
		// A variant with a word kernel (VDPBF16PS, AMX) is another one's float32 kernels
		// plus that kernel: float32 work is named after the other.
		if v.Supported && v.bf16 == nil {
			return v
		}
	}
	return generic
}

// activeBF16 is the variant the bf16 GEMM runs: the forced one, else [bf16Fastest].
func activeBF16() *Variant {
	if v := forced.Load(); v != nil {
		return v
	}
	return bf16Fastest()
}

// bf16Fastest is the supported variant whose bf16 micro-kernel is the fastest on this
// machine, timed once on an L1-resident tile (generic where no assembly runs). Feature flags
// cannot rank them: on an Emerald Rapids Xeon VDPBF16PS does half the work of two float32
// FMAs per cycle, so widening the words in registers wins there, and no flag says on which
// CPUs that holds. The VDPBF16PS and widening kernels give the same sums; the AMX kernel
// adds the same products in its own order (bf16.go).
var bf16Fastest = sync.OnceValue(func() *Variant {
	var cands []*Variant
	for _, v := range variants {
		if v.Supported {
			cands = append(cands, v)
		}
	}
	if len(cands) == 0 {
		return generic
	}
	return fastest(cands, timeBF16Kernel)
})

// fastest returns the candidate with the smallest of its timings over five rounds, each
// round timing every candidate in turn, so that a busy neighbour slows one round, not one
// candidate.
func fastest(cands []*Variant, measure func(*Variant) time.Duration) *Variant {
	best := make([]time.Duration, len(cands))
	for round := range 5 {
		for i, v := range cands {
			if d := measure(v); round == 0 || d < best[i] {
				best[i] = d
			}
		}
	}
	return cands[slices.Index(best, slices.Min(best))]
}

// timeBF16Kernel times 32 calls of v's bf16 micro-kernel on one L1-resident tile.
func timeBF16Kernel(v *Variant) time.Duration {
	const kp = 8 * amxPairs // a multiple of amxPairs, as the AMX kernel needs
	words, wide, c := make([]uint32, kp*nr), make([]float32, 2*kp*mr), make([]float32, mr*nr)
	start := time.Now()
	for range 32 {
		v.bf16Tile(kp, wide, words, c)
	}
	return time.Since(start)
}

// bf16Tile runs v's bf16 micro-kernel once, on whichever operand it reads: wide (A's
// rounded values, mr rows of 2kp) or words (A's pairs). kp must suit both layouts.
func (v *Variant) bf16Tile(kp int, wide []float32, words []uint32, c []float32) {
	if v.bf16Widened != nil {
		v.bf16Widened(kp, &wide[0], 2*kp, &words[0], &c[0], nr)
	} else {
		v.bf16(kp, &words[0], &words[0], &c[0], nr)
	}
}

var maxWorkers atomic.Int32

// Workers is the number of goroutines a kernel splits its work over: GOMAXPROCS unless
// SetWorkers set a smaller bound.
func Workers() int {
	w := runtime.GOMAXPROCS(0)
	if m := int(maxWorkers.Load()); m > 0 && m < w {
		w = m
	}
	return w
}

// SetWorkers bounds [Workers]; n <= 0 removes the bound.
func SetWorkers(n int) { maxWorkers.Store(int32(n)) }

// parallel runs fn(0..n-1), one goroutine per index beyond the first, which runs on the
// caller; it returns when all are done. Callers keep n at most Workers().
func parallel(n int, fn func(i int)) {
	if n == 1 {
		fn(0)
		return
	}
	var wg sync.WaitGroup
	for i := 1; i < n; i++ {
		wg.Go(func() { fn(i) })
	}
	fn(0)
	wg.Wait()
}

// ParallelFor runs fn over [0, n) in contiguous chunks on at most Workers() goroutines and
// returns when all are done. Workers take the next chunk from a shared counter, so on a
// shared machine a descheduled worker delays only its own chunk.
func ParallelFor(n int, fn func(lo, hi int)) {
	if n <= 0 {
		return
	}
	chunk := max(1, n/(4*Workers()))
	parts := splitEven(n, (n+chunk-1)/chunk, 1)
	dynamic(len(parts), func(i int) { fn(parts[i][0], parts[i][1]) })
}

// dynamic runs fn(0..n-1) on min(n, Workers()) goroutines (the caller is one) that take
// indices from an atomic counter; it returns when all are done.
func dynamic(n int, fn func(i int)) {
	var next atomic.Int64
	parallel(min(n, Workers()), func(int) {
		for {
			i := int(next.Add(1) - 1)
			if i >= n {
				return
			}
			fn(i)
		}
	})
}

func unsafeSlice(p *float32, n int) []float32 { return unsafe.Slice(p, n) }
