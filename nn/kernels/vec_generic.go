//go:build !amd64 || purego

package kernels

// Without assembly the vector loops are the generic ones.

func expSum(x []float32, m float32) float64 { return expSumGeneric(x, m) }

func geluTanh(x []float32) { geluTanhGeneric(x) }

func xSigmoid(x []float32, a, b float32) { xSigmoidGeneric(x, a, b) }

func dotF32(a, b []float32) float32 { return dotF32Generic(a, b) }

func dotBF16(a []float32, b []uint16) float32 { return dotBF16Generic(a, b) }

func roundBF16s(dst, src []float32) { roundBF16sGeneric(dst, src) }
