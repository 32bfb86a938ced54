package main

import (
	"context"

	"github.com/pretrain/pretrain/nn"
	"github.com/pretrain/pretrain/nn/kernels"
)

// benchCmd measures the LM engine: loss evaluation speed and GEMM throughput.
type benchCmd struct {
	Eval benchEvalCmd `cmd:"" help:"Loss-evaluation tokens/s on a preset shape with random weights."`
	Gemm benchGemmCmd `cmd:"" help:"GEMM GFLOP/s (activation m x k times weight n x k transposed)."`
}

type benchEvalCmd struct {
	Preset string `default:"gpt2-124m" help:"Model shape: ${presets}."`
	DType  string `name:"dtype" default:"F32" enum:"F32,BF16,F16" help:"Weight dtype. One of ${enum}."`
	SeqLen int    `name:"seq-len" default:"1024" help:"Tokens per row (sequence length L). One row per batch."`
	Runs   int    `default:"5" help:"Timed runs after one warm-up."`
	// As eval's --precision.
	Precision string `enum:"auto,fp32,bf16" default:"auto" help:"Arithmetic of the weight GEMMs and attention's products: fp32, bf16, or auto. auto is bf16 for --dtype BF16."`
}

func (c *benchEvalCmd) Run(ctx context.Context, e *env) error {
	res, err := nn.BenchEval(ctx, c.Preset, c.DType, c.Precision, c.SeqLen, c.Runs)
	if err != nil {
		return err
	}
	return printJSON(e, res)
}

type benchGemmCmd struct {
	M     int    `default:"1024" help:"Rows of the activation."`
	N     int    `default:"3072" help:"Rows of the weight (output features)."`
	K     int    `default:"768" help:"Inner dimension."`
	DType string `name:"dtype" default:"F32" enum:"F32,BF16,F16" help:"Weight dtype. One of ${enum}."`
	Runs  int    `default:"10" help:"Timed runs after one warm-up."`
	// As eval's --precision.
	Precision string `enum:"auto,fp32,bf16" default:"auto" help:"Arithmetic of the weight GEMMs and attention's products: fp32, bf16, or auto. auto is bf16 for --dtype BF16; this times the GEMM alone."`
}

func (c *benchGemmCmd) Run(ctx context.Context, e *env) error {
	dt := map[string]kernels.DType{"F32": kernels.F32, "BF16": kernels.BF16, "F16": kernels.F16}[c.DType]
	bf16 := c.Precision == "bf16" || c.Precision == "auto" && dt == kernels.BF16
	runs, med, err := kernels.BenchGemm(c.M, c.N, c.K, dt, bf16, c.Runs)
	if err != nil {
		return err
	}
	precision := map[bool]string{false: "fp32", true: "bf16"}[bf16]
	return printJSON(e, map[string]any{"m": c.M, "n": c.N, "k": c.K, "dtype": c.DType, "precision": precision, "kernel": kernels.Active(bf16),
		"workers": kernels.Workers(), "gflops": runs, "median_gflops": med})
}
