//go:build amd64 && !purego

package kernels

import "golang.org/x/sys/cpu"

// x/sys/cpu's HasAVX512F already requires the OS to save the zmm state.
var avx512 = &Variant{Name: "avx512", Supported: cpu.X86.HasAVX512F, kernel: gemmKernelAVX512}

func init() { variants = append(variants, avx512) }
