package train

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/pretrain/pretrain/nn"
)

// tensor is one trainable parameter: its Hugging Face name and shape, values and gradient.
type tensor[F Float] struct {
	name  string
	shape []int
	data  []F
	grad  []F
	decay bool // weight decay applies (2-D weights; not norms and biases)
}

// arch is an architecture's backward: it reads the activations nn's forward recorded in a
// trace and adds the gradients into the parameters' grads.
type arch[F Float] interface {
	// backward takes dh, the gradient of the final hidden states of B rows of L tokens
	// (ids, row-major), back through every block and the embeddings.
	backward(ctx context.Context, tr *nn.Trace[F], ids []int32, B, L int, dh []F) error
}

// network is a model's float parameters, nn's forward over them and the architecture's
// backward.
type network[F Float] struct {
	cfg    *nn.Config
	params []*tensor[F]
	byName map[string]*tensor[F]
	fwd    *nn.Net[F]
	head   *tensor[F] // the output projection's weight
	arch   arch[F]
}

// source yields a parameter's initial values by name and shape.
type source func(name string, shape []int) ([]float32, error)

// newNetwork builds the network of cfg with values from src: nn's builder asks for each
// parameter, which becomes a master weight that nn's forward reads in place.
func newNetwork[F Float](cfg *nn.Config, src source) (*network[F], error) {
	n := &network[F]{cfg: cfg, byName: map[string]*tensor[F]{}}
	if len(cfg.Architectures) == 0 {
		return nil, fmt.Errorf("%w: config names no architecture", nn.ErrConfig)
	}
	var newArch func(*network[F]) (arch[F], error)
	switch cfg.Architectures[0] {
	case "GPT2LMHeadModel":
		newArch = newGPT2[F]
	case "LlamaForCausalLM", "MistralForCausalLM", "Qwen2ForCausalLM":
		newArch = newLlama[F]
	default:
		return nil, fmt.Errorf("%w: %q has no trainer", nn.ErrUnsupportedArchitecture, cfg.Architectures[0])
	}
	fwd, err := nn.NewNet(cfg, func(name string, shape []int) ([]F, error) {
		t, err := n.param(src, name, shape...)
		if err != nil {
			return nil, err
		}
		return t.data, nil
	})
	if err != nil {
		return nil, err
	}
	n.fwd, n.head = fwd, n.byName[fwd.Head()]
	if n.arch, err = newArch(n); err != nil {
		return nil, err
	}
	return n, nil
}

// tensor returns the parameter named name, which nn's builder created; a missing name is
// reported through err (first error wins), so builders can look up a whole layer at once.
func (n *network[F]) tensor(err *error, name string) *tensor[F] {
	t := n.byName[name]
	if t == nil && *err == nil {
		*err = fmt.Errorf("nn built no parameter %q", name)
	}
	return t
}

// param creates (or, for a tied name, returns) a parameter and loads its values.
func (n *network[F]) param(src source, name string, shape ...int) (*tensor[F], error) {
	if t, ok := n.byName[name]; ok {
		return t, nil
	}
	v, err := src(name, shape)
	if err != nil {
		return nil, err
	}
	numel := 1
	for _, d := range shape {
		numel *= d
	}
	if len(v) != numel {
		return nil, fmt.Errorf("tensor %q has %d values, shape %v needs %d", name, len(v), shape, numel)
	}
	t := &tensor[F]{name: name, shape: shape, data: make([]F, numel), grad: make([]F, numel), decay: len(shape) == 2}
	for i, x := range v {
		t.data[i] = F(x)
	}
	n.params = append(n.params, t)
	n.byName[name] = t
	return t, nil
}

// lossGrad checks the batch, runs nn's forward over it (recording a trace when grad is
// set), returns the summed cross-entropy of the B·(L-1) next-token predictions and, when
// grad is set, adds scale × its gradient into the parameters' grads.
func (n *network[F]) lossGrad(ctx context.Context, batch [][]int32, scale float64, grad bool) (float64, error) {
	if len(batch) == 0 {
		return 0, errors.New("empty batch")
	}
	L := len(batch[0])
	if L < 2 {
		return 0, fmt.Errorf("rows of %d tokens (need at least 2)", L)
	}
	if L > n.cfg.Positions {
		return 0, fmt.Errorf("rows of %d tokens exceed the %d positions of the model", L, n.cfg.Positions)
	}
	ids := make([]int32, 0, len(batch)*L)
	for i, row := range batch {
		if len(row) != L {
			return 0, fmt.Errorf("row %d has %d tokens, row 0 has %d", i, len(row), L)
		}
		for j, id := range row {
			if id < 0 || int(id) >= n.cfg.VocabSize {
				return 0, fmt.Errorf("row %d: token %d at position %d outside vocabulary of %d", i, id, j, n.cfg.VocabSize)
			}
		}
		ids = append(ids, row...)
	}
	B, nTok, d := len(batch), len(ids), n.cfg.Hidden
	var tr *nn.Trace[F]
	if grad {
		tr = &nn.Trace[F]{}
	}
	h := make([]F, nTok*d)
	if err := n.fwd.Forward(ctx, ids, B, h, tr); err != nil {
		return 0, err
	}
	var dh []F
	if grad {
		dh = make([]F, nTok*d)
	}
	loss := headLoss(h, n.head, shiftedTargets(ids, B, L), nTok, d, scale, grad, dh)
	if !grad {
		return loss, nil
	}
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	return loss, n.arch.backward(ctx, tr, ids, B, L, dh)
}

// shiftedTargets returns, per token, the next token of its row, and -1 at each row's end.
func shiftedTargets(ids []int32, B, L int) []int32 {
	t := make([]int32, len(ids))
	for b := range B {
		for i := range L {
			t[b*L+i] = -1
			if i+1 < L {
				t[b*L+i] = ids[b*L+i+1]
			}
		}
	}
	return t
}

// headLoss projects the final hidden states h (n x d) through the output embedding (V x d)
// in blocks of rows, so the n x V logits never exist whole, and returns the summed
// cross-entropy; with grad it adds scale × the gradients to head.grad and writes dh.
func headLoss[F Float](h []F, head *tensor[F], targets []int32, n, d int, scale float64, grad bool, dh []F) float64 {
	V := head.shape[0]
	rows := max(1, min(n, (16<<20)/V))
	logits := make([]F, rows*V)
	var sum float64
	for r0 := 0; r0 < n; r0 += rows {
		r := min(rows, n-r0)
		lg := logits[:r*V]
		hb := h[r0*d : (r0+r)*d]
		matmul(r, V, d, hb, head.data, true, lg, false)
		if !grad {
			sum += CrossEntropy(nil, lg, targets[r0:r0+r], r, V, scale)
			continue
		}
		sum += CrossEntropy(lg, lg, targets[r0:r0+r], r, V, scale)
		LinearBackward(dh[r0*d:(r0+r)*d], head.grad, nil, lg, hb, head.data, r, d, V)
	}
	return sum
}

// randomSource initializes parameters as nn.InitRandom does (the weights transformers'
// _init_weights gives these models), so a fresh model is the one nn would make from seed.
func randomSource(cfg *nn.Config, seed uint64) (source, error) {
	_, ts, err := nn.InitRandom(cfg, "F32", seed)
	if err != nil {
		return nil, err
	}
	return tensorSource(ts), nil
}

// tensorSource reads parameters from named tensors; GPT-2 names may lack the
// "transformer." prefix, as in OpenAI's original conversion.
func tensorSource(ts []nn.Tensor) source {
	byName := map[string]nn.Tensor{}
	for _, t := range ts {
		byName[t.Name] = t
	}
	return func(name string, shape []int) ([]float32, error) {
		t, ok := byName[name]
		if !ok {
			t, ok = byName[strings.TrimPrefix(name, "transformer.")]
		}
		if !ok {
			return nil, fmt.Errorf("missing tensor %q", name)
		}
		if !slices.Equal(t.Shape, shape) {
			return nil, fmt.Errorf("tensor %q has shape %v, config implies %v", name, t.Shape, shape)
		}
		return t.Floats()
	}
}

// Model is a trainable causal LM: float32 master weights and gradients of one of nn's
// architectures. It is used from one goroutine at a time (its methods use all of
// [kernels.Workers]).
type Model struct {
	Config *nn.Config
	net    *network[float32]
}

// NewModel returns a model of cfg initialized from seed as [nn.InitRandom] initializes it.
func NewModel(cfg *nn.Config, seed uint64) (*Model, error) {
	src, err := randomSource(cfg, seed)
	if err != nil {
		return nil, fmt.Errorf("new model: %w", err)
	}
	net, err := newNetwork[float32](cfg, src)
	if err != nil {
		return nil, fmt.Errorf("new model: %w", err)
	}
	return &Model{Config: cfg, net: net}, nil
}

// LoadModel reads a Hugging Face model directory (config.json and safetensors weights in any
// float dtype) into float32 master weights, to continue training it.
func LoadModel(dir string) (*Model, error) {
	cfg, err := nn.LoadConfig(dir)
	if err != nil {
		return nil, fmt.Errorf("load model %s: %w", dir, err)
	}
	st, err := nn.OpenSafetensorsDir(dir)
	if err != nil {
		return nil, fmt.Errorf("load model %s: %w", dir, err)
	}
	defer st.Close()
	net, err := newNetwork[float32](cfg, func(name string, shape []int) ([]float32, error) {
		t, ok := st.Tensor(name)
		if !ok {
			t, ok = st.Tensor(strings.TrimPrefix(name, "transformer."))
		}
		if !ok {
			return nil, fmt.Errorf("missing tensor %q", name)
		}
		if !slices.Equal(t.Shape, shape) {
			return nil, fmt.Errorf("tensor %q has shape %v, config implies %v", name, t.Shape, shape)
		}
		return t.Floats()
	})
	if err != nil {
		return nil, fmt.Errorf("load model %s: %w", dir, err)
	}
	return &Model{Config: cfg, net: net}, nil
}

// Params returns the parameters with their gradients, for the optimizer; the slices alias
// the model's.
func (m *Model) Params() []Param {
	out := make([]Param, len(m.net.params))
	for i, t := range m.net.params {
		out[i] = Param{Name: t.name, Data: t.data, Grad: t.grad, Decay: t.decay}
	}
	return out
}

// ParamCount is the number of parameters, tied embeddings counted once.
func (m *Model) ParamCount() int64 {
	var n int64
	for _, t := range m.net.params {
		n += int64(len(t.data))
	}
	return n
}

// ZeroGrad clears the gradients.
func (m *Model) ZeroGrad() {
	for _, t := range m.net.params {
		clear(t.grad)
	}
}

// Backward runs batch (B rows of L tokens) forward and backward, adds scale × the gradient
// of its mean cross-entropy (nn.Model.Loss's definition) into the gradients, and returns
// that mean. Gradient accumulation over k micro-batches passes scale = 1/k.
func (m *Model) Backward(ctx context.Context, batch [][]int32, scale float64) (float64, error) {
	if len(batch) == 0 {
		return 0, errors.New("backward: empty batch")
	}
	sum, err := m.net.lossGrad(ctx, batch, scale/float64(len(batch)*(len(batch[0])-1)), true)
	if err != nil {
		return 0, fmt.Errorf("backward: %w", err)
	}
	return sum / float64(len(batch)*(len(batch[0])-1)), nil
}

// Loss is the mean cross-entropy of batch, without gradients.
func (m *Model) Loss(ctx context.Context, batch [][]int32) (float64, error) {
	if len(batch) == 0 {
		return 0, errors.New("loss: empty batch")
	}
	sum, err := m.net.lossGrad(ctx, batch, 0, false)
	if err != nil {
		return 0, fmt.Errorf("loss: %w", err)
	}
	loss := sum / float64(len(batch)*(len(batch[0])-1))
	if math.IsNaN(loss) {
		return math.Inf(1), nil
	}
	return loss, nil
}

// Tensors returns the weights as safetensors tensors in dtype ("F32" or "BF16"), tied
// weights once.
func (m *Model) Tensors(dtype string) ([]nn.Tensor, error) {
	var out []nn.Tensor
	for _, t := range m.net.params {
		switch dtype {
		case "F32":
			out = append(out, nn.F32Tensor(t.name, t.shape, t.data))
		case "BF16":
			out = append(out, nn.BF16Tensor(t.name, t.shape, t.data))
		default:
			return nil, fmt.Errorf("tensors: dtype %q (want F32 or BF16)", dtype)
		}
	}
	return out, nil
}
