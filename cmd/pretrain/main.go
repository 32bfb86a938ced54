// Command pretrain is the single binary of the pretrain project: a Go implementation of
// Bittensor Subnet 9. Each subcommand is a struct with a Run method; the logic lives in the
// packages it calls.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/alecthomas/kong"
	"github.com/pretrain/pretrain/nn"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	context.AfterFunc(ctx, stop) // the first signal asks the command to stop; a second one kills
	err := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	os.Exit(exitCode(context.Cause(ctx), err, os.Stderr))
}

// cli is the command tree. Each command's one-line help is its `help` tag.
type cli struct {
	Log     logFlags         `embed:"" prefix:"log."`
	Version kong.VersionFlag `help:"Print the version and exit."`

	Rank      rankCmd      `cmd:"" help:"Rank a step's scores by hand: competitive uids, wins, win rates and weights."`
	Hash      hashCmd      `cmd:"" help:"Print a model directory's hash (and secure hash with --hotkey) as JSON."`
	Hub       hubCmd       `cmd:"" help:"Hugging Face Hub client: upload, info, download."`
	Hubserver hubserverCmd `cmd:"" help:"Serve a local model hub (the Hugging Face Hub API subset) from a directory."`

	Data        dataCmd        `cmd:"" help:"Show what validators read: seeded dataset pages and packed batches."`
	Dataserver  dataserverCmd  `cmd:"" help:"Serve local JSON-lines datasets with the datasets-server /rows and /size API."`
	Eval        evalCmd        `cmd:"" help:"Score a model on token batches or a text file as validators do: per-batch loss and mean, as JSON."`
	Bench       benchCmd       `cmd:"" help:"Measure the LM engine: loss-evaluation tokens/s and GEMM GFLOP/s."`
	Wallet      walletCmd      `cmd:"" help:"Create and show bittensor wallets (coldkey, hotkeys)."`
	Chain       chainCmd       `cmd:"" help:"The local chain (init, register, stake, advance) and chain reads (metagraph, commitment; the real chain with --subtensor.network)."`
	Tokenize    tokenizeCmd    `cmd:"" help:"Encode stdin to token ids as JSON, or decode ids (--decode), as Hugging Face tokenizers do."`
	Localnet    localnetCmd    `cmd:"" help:"Run the whole subnet on this machine: chain, hub, datasets, miners, validators."`
	Validator   validatorCmd   `cmd:"" help:"Run the SN9 validator: discover, download and score miners' models, set weights."`
	EvalWorker  evalWorkerCmd  `cmd:"" name:"eval-worker" hidden:"" help:"Score one model for a validator (JSON request on stdin, result on stdout)."`
	Miner       minerCmd       `cmd:"" help:"Miner tools: train a model on CPU, push it, score it against the models on chain."`
	Model       modelCmd       `cmd:"" help:"Make model directories: model init writes a preset shape with its tokenizer."`
	Generate    generateCmd    `cmd:"" help:"Continue a prompt with a model (its generation_config honoured) and print the text."`
	BestUID     bestUIDCmd     `cmd:"" name:"best-uid" help:"Print the best miner of a competition (top five by incentive with its metadata)."`
	Repo        repoCmd        `cmd:"" help:"Print a miner's model URL on the hub at its committed revision."`
	Download    downloadCmd    `cmd:"" help:"Download a miner's committed model, verify its hash against the chain, and check it loads."`
	Metadata    metadataCmd    `cmd:"" help:"Print a miner's decoded chain metadata, by hotkey or uid."`
	Leaderboard leaderboardCmd `cmd:"" help:"Serve the subnet's leaderboard (pages and JSON API) from the chain and validators' step logs."`
}

type logFlags struct {
	Level  string `default:"info" enum:"debug,info,warn,error" help:"Log level: ${enum}."`
	Format string `default:"text" enum:"text,json" help:"Log format: ${enum}."`
}

// env is what every command's Run receives besides the context: the process's streams and
// the logger built from the global flags.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	log            *slog.Logger
}

// exitRequest carries kong's request to exit (after --help) out of the parser.
type exitRequest struct{ code int }

// errUsage marks errors that are the user's: bad flags or arguments (exit status 2).
var errUsage = errors.New("usage")

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) (err error) {
	var c cli
	parser, err := kong.New(&c,
		kong.Name("pretrain"),
		kong.Description("Bittensor Subnet 9 (pretraining) in one binary: validator, miner, local subnet."),
		kong.Writers(stdout, stderr),
		kong.Exit(func(code int) { panic(exitRequest{code}) }),
		kong.ConfigureHelp(kong.HelpOptions{Compact: true, NoExpandSubcommands: true}),
		kong.Configuration(kong.JSON),
		kong.Resolvers(skipEmptyEnv),
		kong.Vars{"version": versionString(), "presets": strings.Join(nn.Presets(), ", ")},
	)
	if err != nil {
		return err
	}
	defer func() {
		if r := recover(); r != nil {
			req, ok := r.(exitRequest)
			if !ok {
				panic(r)
			}
			if req.code != 0 {
				err = errUsage
			}
		}
	}()
	kctx, err := parser.Parse(args)
	if err != nil {
		return fmt.Errorf("%w: %v (see pretrain --help)", errUsage, err)
	}
	e := &env{stdin: stdin, stdout: stdout, stderr: stderr, log: newLogger(stderr, c.Log)}
	kctx.BindTo(ctx, (*context.Context)(nil))
	return kctx.Run(e)
}

func newLogger(w io.Writer, f logFlags) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(f.Level)) // kong's enum has validated it
	opts := &slog.HandlerOptions{Level: level}
	if f.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// exitCode maps run's outcome to the process's exit status. A command interrupted by a
// signal (interrupted is the signal's error, else nil) exits 130, as a shell reports SIGINT,
// even if it returned no error, so that its output is never taken for a complete one.
func exitCode(interrupted, err error, stderr io.Writer) int {
	switch {
	case interrupted != nil:
		fmt.Fprintln(stderr, "pretrain: interrupted:", interrupted)
		return 130
	case err == nil:
		return 0
	case errors.Is(err, context.Canceled):
		return 130
	case errors.Is(err, errUsage):
		fmt.Fprintln(stderr, "pretrain:", err)
		return 2
	default:
		fmt.Fprintln(stderr, "pretrain:", err)
		return 1
	}
}

// skipEmptyEnv resolves a flag from the first of its environment variables that is not
// empty. Kong takes the first one that is set, so an exported but empty HF_ACCESS_TOKEN would
// hide HF_TOKEN; huggingface_hub and the reference treat an empty variable as unset. A value
// on the command line or in --config (a later resolver) still wins.
var skipEmptyEnv = kong.ResolverFunc(func(_ *kong.Context, _ *kong.Path, flag *kong.Flag) (any, error) {
	for _, name := range flag.Tag.Envs {
		if v := os.Getenv(name); v != "" {
			return v, nil
		}
	}
	return nil, nil
})
