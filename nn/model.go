package nn

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"

	"github.com/pretrain/pretrain/nn/kernels"
)

// arch is one supported architecture: how to read its config.json keys and how to build its
// network from weights. Each lives in its own file and registers in init().
type arch struct {
	name      string // config.json architectures[0], e.g. "LlamaForCausalLM"
	modelType string // config.json model_type
	parse     func(c *Config, r *rawConfig) error
	build     func(c *Config, w *weightSet[float32]) (network[float32], error)
	build64   func(c *Config, w *weightSet[float64]) (network[float64], error) // gradient checks
}

var archByName = map[string]*arch{}

// register adds an architecture; a duplicate name is a programming error.
func register(a *arch) {
	if _, dup := archByName[a.name]; dup {
		panic("nn: architecture registered twice: " + a.name)
	}
	archByName[a.name] = a
}

// archOf finds the architecture of a config.
func archOf(cfg *Config) (*arch, error) {
	if cfg == nil || len(cfg.Architectures) == 0 {
		return nil, fmt.Errorf("%w: config names no architecture", ErrConfig)
	}
	a := archByName[cfg.Architectures[0]]
	if a == nil {
		return nil, fmt.Errorf("%w: %q", ErrUnsupportedArchitecture, cfg.Architectures[0])
	}
	return a, nil
}

// SupportedArchitectures lists the config.json architectures nn runs, sorted.
func SupportedArchitectures() []string {
	var out []string
	for n := range archByName {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

// buildNet runs a's builder for the element type F.
func buildNet[F kernels.Float](a *arch, c *Config, w *weightSet[F]) (network[F], error) {
	var (
		net any
		err error
	)
	switch w := any(w).(type) {
	case *weightSet[float32]:
		net, err = a.build(c, w)
	case *weightSet[float64]:
		net, err = a.build64(c, w)
	}
	if err != nil {
		return nil, err
	}
	return net.(network[F]), nil
}

// network is an architecture's forward pass.
type network[F kernels.Float] interface {
	// forward runs rows rows of len(ids)/rows tokens each at positions pos0.. (pos0 = cache
	// length, or 0 without a cache; a cache takes one row) and writes the final-norm hidden
	// states, len(ids) x Hidden, into out. Attention stays within a row. With a cache it
	// appends the new keys and values; with a trace it records the activations there.
	forward(ctx context.Context, ids []int32, rows int, cache *KVCache, out []F, tr *Trace[F]) error
	// head is the output projection, vocab x hidden (transposed GEMM operand), and
	// headName the tensor it reads.
	head() kernels.Mat
	headName() string
	// gemmWeights lists the weights the forward and the head multiply by, for
	// [Model.SetPrecision].
	gemmWeights() []gemmWeight
	// setBF16Attention switches attention to bfloat16 operands ([kernels.Attention.BF16]).
	setBF16Attention(on bool)
}

// Model is a loaded causal LM. Its methods may be called from one goroutine at a time (each
// call uses all [kernels.Workers]).
type Model struct {
	Config     *Config
	Generation *GenerationConfig
	net        network[float32]
	params     int64
	weights    *Safetensors
	precision  Precision
}

// Load opens a Hugging Face model directory: config.json, optional generation_config.json,
// and safetensors weights, which stay memory-mapped in their stored dtype until Close.
func Load(dir string) (*Model, error) {
	cfg, err := LoadConfig(dir)
	if err != nil {
		return nil, err
	}
	gen, err := LoadGenerationConfig(dir, cfg)
	if err != nil {
		return nil, err
	}
	st, err := OpenSafetensorsDir(dir)
	if err != nil {
		return nil, err
	}
	m, err := New(cfg, st)
	if err != nil {
		st.Close()
		return nil, fmt.Errorf("load model %s: %w", dir, err)
	}
	m.Generation = gen
	return m, nil
}

// New builds a model from a config returned by [ParseConfig] or [LoadConfig] (validated)
// and opened weights; the model takes ownership of st. Every tensor the architecture reads
// must exist with the shape the config implies.
func New(cfg *Config, st *Safetensors) (*Model, error) {
	a, err := archOf(cfg)
	if err != nil {
		return nil, err
	}
	w := &weightSet[float32]{st: st, seen: map[string]bool{}}
	net, err := a.build(cfg, w)
	if err != nil {
		return nil, fmt.Errorf("build %s: %w", a.name, err)
	}
	return &Model{Config: cfg, Generation: defaultGeneration(cfg),
		net: net, params: w.params, weights: st}, nil
}

// Close releases the weight maps.
func (m *Model) Close() error { return m.weights.Close() }

// Architecture is config.json's architectures[0], e.g. "LlamaForCausalLM".
func (m *Model) Architecture() string { return m.Config.Architectures[0] }

// ParamCount is the number of parameters as torch's sum(p.numel() for p in
// model.parameters()) counts them: each tensor the model uses once, tied embeddings once,
// buffers (rotary frequencies, GPT-2's causal mask) not at all.
func (m *Model) ParamCount() int64 { return m.params }

// weightSet looks tensors up by name, checks their shapes and counts parameters. With an
// rng instead of a file it makes each tensor it is asked for (random initialization); with
// owned, the caller supplies each tensor's values and keeps them (the trainer's master
// weights, which the forward then reads in place).
type weightSet[F kernels.Float] struct {
	st     *Safetensors
	seen   map[string]bool
	params int64

	rng   *rand.Rand
	dtype string
	made  []Tensor

	owned func(name string, shape []int) ([]F, error)
}

func (w *weightSet[F]) tensor(name string, shape ...int) (Tensor, error) {
	if w.rng != nil {
		return w.makeTensor(name, shape), nil
	}
	t, ok := w.st.Tensor(name)
	if !ok {
		return Tensor{}, fmt.Errorf("missing tensor %q", name)
	}
	if !slices.Equal(t.Shape, shape) {
		return Tensor{}, fmt.Errorf("tensor %q has shape %v, config implies %v", name, t.Shape, shape)
	}
	if !w.seen[name] {
		w.seen[name] = true
		w.params += int64(t.Numel())
	}
	return t, nil
}

// has reports whether the weights contain name.
func (w *weightSet[F]) has(name string) bool {
	if w.rng != nil || w.owned != nil {
		return strings.HasPrefix(name, "transformer.") // made GPT-2 weights use the prefixed names
	}
	_, ok := w.st.Tensor(name)
	return ok
}

// makeTensor initializes a tensor as transformers' _init_weights does for these models:
// 1-D weights (norm scales) one, biases zero, matrices normal with std 0.02.
func (w *weightSet[F]) makeTensor(name string, shape []int) Tensor {
	for _, t := range w.made {
		if t.Name == name {
			return t
		}
	}
	n := 1
	for _, d := range shape {
		n *= d
	}
	v := make([]float32, n)
	switch {
	case strings.HasSuffix(name, "bias"):
	case len(shape) == 1:
		for i := range v {
			v[i] = 1
		}
	default:
		for i := range v {
			v[i] = float32(0.02 * w.rng.NormFloat64())
		}
	}
	var t Tensor
	switch w.dtype {
	case "BF16":
		t = BF16Tensor(name, shape, v)
	case "F16":
		t = F16Tensor(name, shape, v)
	default:
		t = F32Tensor(name, shape, v)
	}
	w.made = append(w.made, t)
	w.seen[name] = true
	w.params += int64(n)
	return t
}

// InitRandom builds a model of the given config with random weights in dtype ("F32",
// "BF16" or "F16") from seed, and returns it with its tensors (to be written with
// [WriteSafetensors] as a model directory). The same seed gives the same weights.
func InitRandom(cfg *Config, dtype string, seed uint64) (*Model, []Tensor, error) {
	switch dtype {
	case "F32", "BF16", "F16":
	default:
		return nil, nil, fmt.Errorf("init random: dtype %q (want F32, BF16 or F16)", dtype)
	}
	a, err := archOf(cfg)
	if err != nil {
		return nil, nil, fmt.Errorf("init random: %w", err)
	}
	w := &weightSet[float32]{seen: map[string]bool{}, rng: rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15)), dtype: dtype}
	net, err := a.build(cfg, w)
	if err != nil {
		return nil, nil, fmt.Errorf("init random %s: %w", a.name, err)
	}
	m := &Model{Config: cfg, Generation: defaultGeneration(cfg),
		net: net, params: w.params, weights: &Safetensors{}}
	return m, w.made, nil
}

// ownedTensor asks the caller for a tensor's values and checks their count.
func (w *weightSet[F]) ownedTensor(name string, shape ...int) ([]F, error) {
	v, err := w.owned(name, shape)
	if err != nil {
		return nil, err
	}
	n := 1
	for _, d := range shape {
		n *= d
	}
	if len(v) != n {
		return nil, fmt.Errorf("tensor %q has %d values, shape %v needs %d", name, len(v), shape, n)
	}
	if !w.seen[name] {
		w.seen[name] = true
		w.params += int64(n)
	}
	return v, nil
}

// mat returns a 2-D weight: in its stored dtype for float32 forwards, as F64 for float64
// ones, and over the caller's slice when owned.
func (w *weightSet[F]) mat(name string, rows, cols int) (kernels.Mat, error) {
	if w.owned != nil {
		v, err := w.ownedTensor(name, rows, cols)
		if err != nil {
			return kernels.Mat{}, err
		}
		return kernels.MatOf(v, rows, cols, cols), nil
	}
	t, err := w.tensor(name, rows, cols)
	if err != nil {
		return kernels.Mat{}, err
	}
	if _, wide := any(F(0)).(float64); wide {
		v, err := t.Floats()
		if err != nil {
			return kernels.Mat{}, err
		}
		return kernels.MatOf(widen[F](v), rows, cols, cols), nil
	}
	return t.Mat()
}

// vec returns a 1-D weight as F (norms and biases are small): the caller's slice when owned,
// else a widened copy.
func (w *weightSet[F]) vec(name string, n int) ([]F, error) {
	if w.owned != nil {
		return w.ownedTensor(name, n)
	}
	t, err := w.tensor(name, n)
	if err != nil {
		return nil, err
	}
	v, err := t.Floats()
	if err != nil {
		return nil, err
	}
	return widen[F](v), nil
}

// widen returns v as F: v itself for float32.
func widen[F kernels.Float](v []float32) []F {
	if out, ok := any(v).([]F); ok {
		return out
	}
	out := make([]F, len(v))
	for i, x := range v {
		out[i] = F(x)
	}
	return out
}

// activations maps config activation names to in-place kernels.
var activations = map[string]func([]float32){
	"gelu_new":          kernels.GELUTanh,
	"gelu_pytorch_tanh": kernels.GELUTanh,
	"gelu":              kernels.GELUErf,
	"relu":              kernels.ReLU,
	"silu":              kernels.SiLU,
	"swish":             kernels.SiLU,
}

func activationNames() []string {
	var out []string
	for n := range activations {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

// activation returns the in-place kernel of a config activation name for F (float64 has
// the ones the trainer checks: gelu_new and silu).
func activation[F kernels.Float](name string) func([]F) {
	if f, ok := any(activations[name]).(func([]F)); ok {
		return f
	}
	var f64 func([]float64)
	switch name {
	case "gelu_new", "gelu_pytorch_tanh":
		f64 = kernels.GELUTanh64
	case "silu", "swish":
		f64 = kernels.SiLU64
	default:
		return nil
	}
	return any(f64).(func([]F))
}

// linear computes y = x·Wᵀ (+ b) for a torch Linear weight W (out x in), x n x in.
func linear[F kernels.Float](y, x []F, n int, w kernels.Mat, b []F) {
	kernels.MatMul(n, w.Rows, w.Cols, x, w.Cols, w, true, y, w.Rows, false)
	if b != nil {
		kernels.AddBias(y[:n*w.Rows], b)
	}
}

// conv1D computes y = x·W + b for a GPT-2 Conv1D weight W (in x out).
func conv1D[F kernels.Float](y, x []F, n int, w kernels.Mat, b []F) {
	kernels.MatMul(n, w.Cols, w.Rows, x, w.Rows, w, false, y, w.Cols, false)
	if b != nil {
		kernels.AddBias(y[:n*w.Cols], b)
	}
}

// embed widens rows ids of table into out.
func embed[F kernels.Float](out []F, table kernels.Mat, ids []int32) {
	d := table.Cols
	for i, id := range ids {
		kernels.RowOf(out[i*d:(i+1)*d], table, int(id))
	}
}

// layerNorm normalizes the n rows of x (width len(w)) into y; mean and rstd, when not nil,
// receive each row's statistics.
func layerNorm[F kernels.Float](y, x []F, n int, w, b []F, eps float32, mean, rstd []F) {
	d := len(w)
	kernels.ParallelFor(n, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			mu, r := kernels.LayerNorm(y[i*d:(i+1)*d], x[i*d:(i+1)*d], w, b, eps)
			if mean != nil {
				mean[i], rstd[i] = mu, r
			}
		}
	})
}

// rmsNorm is layerNorm for RMSNorm.
func rmsNorm[F kernels.Float](y, x []F, n int, w []F, eps float32, rstd []F) {
	d := len(w)
	kernels.ParallelFor(n, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			r := kernels.RMSNorm(y[i*d:(i+1)*d], x[i*d:(i+1)*d], w, eps)
			if rstd != nil {
				rstd[i] = r
			}
		}
	})
}

// addInto adds src into dst elementwise (residual connections).
func addInto[F kernels.Float](dst, src []F) {
	src = src[:len(dst)]
	for i := range dst {
		dst[i] += src[i]
	}
}

// KVCache holds each layer's keys and values for generation.
type KVCache struct {
	k, v     [][]float32 // per layer, capacity x kvDim
	n        int
	capacity int
	kvDim    int
}

// NewKVCache allocates a cache for up to capacity positions.
func (m *Model) NewKVCache(capacity int) *KVCache {
	c := m.Config
	kvDim := c.KVHeads * c.HeadDim
	kc := &KVCache{capacity: capacity, kvDim: kvDim}
	for range c.Layers {
		kc.k = append(kc.k, make([]float32, capacity*kvDim))
		kc.v = append(kc.v, make([]float32, capacity*kvDim))
	}
	return kc
}

// Len is the number of cached positions.
func (c *KVCache) Len() int { return c.n }

// cacheKV returns layer l's cached keys and values after checking there is room for n more
// rows; only float32 forwards have a cache.
func cacheKV[F kernels.Float](cache *KVCache, l, n int) (k, v []F, err error) {
	if cache.n+n > cache.capacity {
		return nil, nil, fmt.Errorf("kv cache of %d positions cannot take %d more after %d", cache.capacity, n, cache.n)
	}
	k, ok := any(cache.k[l]).([]F)
	if !ok {
		return nil, nil, fmt.Errorf("kv cache in a float64 forward")
	}
	return k, any(cache.v[l]).([]F), nil
}

// checkRows validates a forward's shape: rows rows of equal length, one row with a cache.
func checkRows(ids []int32, rows int, cache *KVCache) (L, pos0 int, err error) {
	if rows <= 0 || len(ids)%rows != 0 {
		return 0, 0, fmt.Errorf("%d tokens do not make %d equal rows", len(ids), rows)
	}
	if cache != nil {
		if rows != 1 {
			return 0, 0, fmt.Errorf("a kv cache takes one row, not %d", rows)
		}
		pos0 = cache.n
	}
	return len(ids) / rows, pos0, nil
}

// checkIDs rejects token ids outside the embedding, as torch's index error would.
func checkIDs(ids []int32, vocab int) error {
	for i, id := range ids {
		if id < 0 || int(id) >= vocab {
			return fmt.Errorf("token %d at position %d outside vocabulary of %d", id, i, vocab)
		}
	}
	return nil
}
