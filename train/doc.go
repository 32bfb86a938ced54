// Package train is the miner's trainer: it pretrains nn's
// architectures, GPT-2 and the Llama family (Llama, Mistral, Qwen2 shapes), on CPU.
//
// The forward is nn's: [nn.NewNet] builds an architecture over the trainer's float32
// master weights (the slices AdamW updates in place), and [nn.Net.Forward] runs B rows of L
// tokens and fills an [nn.Trace] with the activations the backward reads. This package
// holds only what nn has no use for: each layer's backward, as standalone functions over
// row-major slices (layers.go, attention.go), and per architecture (gpt2.go, llama.go) the
// chain of them from the final hidden states back to the embeddings; the fused output
// head + cross-entropy; the optimizer and the training loop. Everything is generic over
// float32 (training; GEMMs on nn's kernels) and float64 (the gradient-check mode, for
// which nn's forward runs its float64 kernels), and checked against PyTorch autograd and
// finite differences (testdata/).
//
// [Run] is the loop behind `pretrain miner train`: SN9-packed windows of a local corpus or
// a datasets-server ([ReadCorpus], [LoadServerCorpus]), held-out evaluation, AdamW
// ([AdamW]: decay on 2-D weights only), gradient clipping and accumulation, a warm-up +
// cosine [Schedule] over the steps or, for a run bounded by time alone, a [TimeSchedule]
// over the fraction of its time budget spent, and checkpoints: Hugging Face model
// directories (latest/, best/) that nn.Load reads, plus a versioned, atomically written
// state file ([WriteState]) with the float32 master weights, optimizer moments, data
// position and training time, so a killed run resumes from its last checkpoint reading the
// same windows in the same order and continuing the same time plan. Everything is
// deterministic given the seed (and, for a time plan, the training time at each step).
// A run directory holds other files only beside a run's own ([StartOver] removes only
// those); Run refuses to write into a directory of other files.
package train
