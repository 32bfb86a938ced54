//go:build amd64 && !purego

package kernels

import "golang.org/x/sys/cpu"

// x/sys/cpu's HasAVX512F and HasAVX2 already require the OS to save the zmm/ymm state.
var (
	avx512 = &Variant{Name: "avx512", Supported: cpu.X86.HasAVX512F, kernel: gemmKernelAVX512}
	avx2   = &Variant{Name: "avx2", Supported: cpu.X86.HasAVX2 && cpu.X86.HasFMA, kernel: gemmKernelAVX2}
)

func init() { variants = append(variants, avx512, avx2) }
