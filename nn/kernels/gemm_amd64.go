//go:build amd64 && !purego

package kernels

import "golang.org/x/sys/cpu"

// x/sys/cpu's HasAVX512F and HasAVX2 already require the OS to save the zmm/ymm state.
// avx512bf16 differs from avx512 only in its bf16 micro-kernel (VDPBF16PS instead of widening
// the words in registers): tests compare the two on a CPU that has both, and the bf16 GEMM
// runs the faster (bf16Fastest).
var (
	// amx is avx512 with the AMX-BF16 bf16 kernel (amx.go) where amxErr is nil.
	amx = &Variant{Name: "amx", Supported: cpu.X86.HasAVX512F && amxErr == nil,
		kernel: gemmKernelAVX512, bf16: gemmKernelBF16AMX, rowMajorA: true}
	avx512bf16 = &Variant{Name: "avx512bf16", Supported: cpu.X86.HasAVX512F && cpu.X86.HasAVX512BF16,
		kernel: gemmKernelAVX512, bf16: gemmKernelBF16AVX512}
	avx512 = &Variant{Name: "avx512", Supported: cpu.X86.HasAVX512F,
		kernel: gemmKernelAVX512, bf16Widened: gemmKernelBF16WidenAVX512}
	avx2 = &Variant{Name: "avx2", Supported: cpu.X86.HasAVX2 && cpu.X86.HasFMA,
		kernel: gemmKernelAVX2, bf16Widened: gemmKernelBF16WidenAVX2}
)

func init() { variants = append(variants, amx, avx512bf16, avx512, avx2) }
