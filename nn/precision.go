package nn

import (
	"fmt"

	"github.com/pretrain/pretrain/nn/kernels"
)

// Precision is the arithmetic of a model's weight GEMMs (the linear or Conv1D layers and
// the LM head) and of attention's two products (QKᵀ and PV). Everything else runs in
// float32 at either precision: embeddings, norms, rotary embeddings, the attention softmax,
// activations, residual sums and the log-sum-exp of the loss.
type Precision uint8

const (
	// PrecisionFP32 multiplies the stored weights, widened exactly, by float32 activations
	// with float32 sums: the reference twin, the trainer's arithmetic, and New's default.
	PrecisionFP32 Precision = iota
	// PrecisionBF16 rounds the weights (once, when set) and every GEMM input activation to
	// bfloat16, nearest even, subnormals to zero, and sums the exact products in float32,
	// as VDPBF16PS does (see package kernels' bf16 GEMM). Attention is flash attention on
	// the same arithmetic: q, k and v rounded to bfloat16, the scores' products summed in
	// float32, the softmax in float32 with a running max and sum, and the probabilities
	// rounded to bfloat16 as PV's operand (see package kernels' bf16 attention). As on GPU
	// with transformers, a GEMM's output is float32 before it is used; unlike there, it is
	// not rounded to bfloat16 again, nor are residuals or norms.
	PrecisionBF16
)

func (p Precision) String() string {
	switch p {
	case PrecisionFP32:
		return "fp32"
	case PrecisionBF16:
		return "bf16"
	}
	return "invalid"
}

// ParsePrecision reads "fp32" or "bf16".
func ParsePrecision(s string) (Precision, error) {
	switch s {
	case "fp32":
		return PrecisionFP32, nil
	case "bf16":
		return PrecisionBF16, nil
	}
	return 0, fmt.Errorf("precision %q (want fp32 or bf16)", s)
}

// A gemmWeight is a weight matrix a forward multiplies by, in the orientation it uses
// (transB for torch Linear weights, not for GPT-2's Conv1D ones).
type gemmWeight struct {
	m      *kernels.Mat
	transB bool
}

// Precision is the arithmetic of the weight GEMMs, [PrecisionFP32] unless SetPrecision
// changed it.
func (m *Model) Precision() Precision { return m.precision }

// StoredDType is the dtype of the stored LM head weight, the model's dtype in the sense of
// torch_dtype (safetensors files of SN9 models hold one dtype throughout).
func (m *Model) StoredDType() kernels.DType { return m.net.head().DType }

// DefaultPrecision is the precision the model's dtype implies, as the reference loads
// models with torch_dtype=bfloat16: bf16 for BF16 weights, fp32 otherwise.
func (m *Model) DefaultPrecision() Precision {
	if m.StoredDType() == kernels.BF16 {
		return PrecisionBF16
	}
	return PrecisionFP32
}

// UsePrecision sets the precision named "fp32", "bf16", or "auto" ([Model.DefaultPrecision]).
func (m *Model) UsePrecision(name string) error {
	p := m.DefaultPrecision()
	if name != "auto" {
		var err error
		if p, err = ParsePrecision(name); err != nil {
			return err
		}
	}
	m.SetPrecision(p)
	return nil
}

// SetPrecision switches the weight GEMMs to p. For bf16 it packs every GEMM weight into
// bfloat16 pairs once (as much memory again as BF16 weights take); for fp32 it drops the
// packing. It must not run concurrently with other methods.
func (m *Model) SetPrecision(p Precision) {
	for _, w := range m.net.gemmWeights() {
		if p == PrecisionBF16 {
			*w.m = w.m.WithBF16(w.transB)
		} else {
			*w.m = w.m.WithoutBF16()
		}
	}
	m.net.setBF16Attention(p == PrecisionBF16)
	m.precision = p
}
