// Package nn runs Hugging Face causal language models in pure Go: it reads safetensors
// weights (memory-mapped, kept in their stored dtype) and config.json, builds one of the
// supported architectures (one file each: gpt2.go, llama.go), and computes what the SN9
// validator needs from PyTorch + transformers: the mean cross-entropy of token batches
// (compute_text_loss of pretrain/eval/method.py), greedy generation with a KV cache, the
// generation sanity check (check_for_reasonable_output) and the parameter count.
//
// Each architecture has one forward, generic over the element type: float32 for inference
// and training, float64 for the trainer's gradient checks. The trainer runs it through
// [Net], over weights it owns, and reads the activations its backward needs from a
// [Trace]; inference passes no trace and pays nothing for it.
//
// Model directories come from strangers: every size is bounded and every field validated,
// and a bad file yields an error, never a panic.
package nn
