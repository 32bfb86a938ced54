package nn

import (
	"context"
	"fmt"

	"github.com/pretrain/pretrain/nn/kernels"
)

// Trace is what a forward records for the trainer's backward: every block's activations and
// the final norm's input and statistics. Forwards given a nil *Trace (inference) record
// nothing and reuse their buffers across layers.
type Trace[F kernels.Float] struct {
	Layers     []LayerTrace[F]
	X          []F // the residual stream after the last block: the final norm's input
	Mean, Rstd []F // the final norm's per-token statistics (Mean nil for RMSNorm)
	Cos, Sin   []F // Llama family: rotary tables of positions 0..L-1 (L x head_dim/2)
}

// LayerTrace is one block's activations, one row per token.
type LayerTrace[F kernels.Float] struct {
	X            []F // block input
	Norm1        []F // first norm's output
	Mean1, Rstd1 []F // its statistics (Mean1 nil for RMSNorm)
	QKV          []F // GPT-2: the fused q|k|v projection (3·hidden wide)
	Q, K, V      []F // Llama family: queries and keys after RoPE, values
	Att          []F // attention output, before the output projection
	XMid         []F // residual stream after attention
	Norm2        []F // second norm's output
	Mean2, Rstd2 []F
	Pre          []F // MLP pre-activation: GPT-2's fc, the Llama family's gate
	Up           []F // Llama family: the up projection
	Act          []F // MLP post-activation, the down projection's input
}

// layer returns block l's trace, or nil without a trace.
func (t *Trace[F]) layer(l, layers int) *LayerTrace[F] {
	if t == nil {
		return nil
	}
	if len(t.Layers) != layers {
		t.Layers = make([]LayerTrace[F], layers)
	}
	return &t.Layers[l]
}

// Net is an architecture's forward over weights its caller owns: the trainer's master
// weights, which AdamW updates in place and the next forward reads as they are. F is
// float32, or float64 for gradient checks.
type Net[F kernels.Float] struct {
	Config *Config
	net    network[F]
}

// NewNet builds cfg's network, asking weight for each parameter by name and shape in the
// order the architecture reads them, once per name (a tied output embedding is the token
// embedding). GPT-2 names carry the "transformer." prefix. The forward keeps the returned
// slices.
func NewNet[F kernels.Float](cfg *Config, weight func(name string, shape []int) ([]F, error)) (*Net[F], error) {
	a, err := archOf(cfg)
	if err != nil {
		return nil, err
	}
	w := &weightSet[F]{seen: map[string]bool{}, owned: weight}
	net, err := buildNet(a, cfg, w)
	if err != nil {
		return nil, fmt.Errorf("build %s: %w", a.name, err)
	}
	return &Net[F]{Config: cfg, net: net}, nil
}

// Forward runs rows rows of len(ids)/rows tokens each (positions restart at 0 in every row
// and attention stays within it) and writes the final-norm hidden states, len(ids) x
// Hidden, into out. A non-nil tr receives the activations.
func (n *Net[F]) Forward(ctx context.Context, ids []int32, rows int, out []F, tr *Trace[F]) error {
	return n.net.forward(ctx, ids, rows, nil, out, tr)
}

// Head is the name of the parameter the output projection (vocab x hidden) reads: the token
// embedding's when tied.
func (n *Net[F]) Head() string { return n.net.headName() }
