package kernels

import (
	"runtime"
	"sync"
	"sync/atomic"
	"unsafe"
)

// A Variant is one implementation of the GEMM micro-kernel.
type Variant struct {
	Name      string
	Supported bool // the CPU and OS can run it
	kernel    kernelFunc
	// bf16 is the bf16 GEMM's micro-kernel on packed words; nil runs kernel on operands
	// widened to float32 (see gemmBF16Serial).
	bf16 bf16KernelFunc
	// rowMajorA marks a bf16 kernel that reads A row-major, mr rows of kp words with kp a
	// multiple of amxPairs (the AMX tile kernels, amx.go), instead of packABF16's panels.
	rowMajorA bool
}

// variants lists the micro-kernels, best first; the generic one is last and always supported.
var variants []*Variant

var generic = &Variant{Name: "generic", Supported: true, kernel: gemmKernelGeneric}

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

// Active names the micro-kernel in use.
func Active() string { return active().Name }

func active() *Variant {
	if v := forced.Load(); v != nil {
		return v
	}
	for _, v := range variants {
		if v.Supported {
			return v
		}
	}
	return generic
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
