// Package train is the miner's trainer (sn9-spec.md section 7): it pretrains nn's
// architectures, GPT-2 and the Llama family (Llama, Mistral, Qwen2 shapes), on CPU.
//
// Each layer has a forward that records what its backward needs and a backward, as
// standalone functions over row-major slices (layers.go, attention.go), generic over
// float32 (training; GEMMs on nn's kernels) and float64 (the gradient-check mode). gpt2.go
// and llama.go chain them into a whole-model forward and backward whose loss is
// nn.Model.Loss's (mean cross-entropy over each row's L-1 next-token predictions), checked
// against nn and against PyTorch autograd (testdata/).
//
// The training forward is a second implementation of nn's forward, kept equal to it by
// TestLossMatchesNN (2e-6 relative). It can go once nn offers: a model over caller-owned
// float32 weights (the master weights AdamW updates in place); a forward over B rows of L
// tokens (positions restarting per row) that fills a trace of the activations the
// backwards read (block inputs, norm outputs and statistics, q/k/v after RoPE, attention
// output, MLP pre- and post-activation, final hidden states); and the parameter list
// (name, shape) its builders read, with the rotary frequencies (rope_scaling included).
//
// [Run] is the loop behind `pretrain miner train`: SN9-packed windows of a local corpus or
// a datasets-server ([ReadCorpus], [LoadServerCorpus]), held-out evaluation, AdamW
// ([AdamW]: decay on 2-D weights only), gradient clipping and accumulation, a warm-up +
// cosine [Schedule], and checkpoints: Hugging Face model directories (latest/, best/) that
// nn.Load reads, plus a versioned, atomically written state file ([WriteState]) with the
// float32 master weights, optimizer moments and data position, so a killed run resumes from
// its last checkpoint reading the same windows in the same order. Everything is
// deterministic given the seed.
package train
