package localnet

import (
	"cmp"
	"errors"
	"io"
	"log/slog"
	"time"
)

// Config sets up a local subnet. Zero values take the defaults (see Defaults).
type Config struct {
	// Dir holds everything: the chain file, the hub, the corpus, the miners' runs and the
	// validators' stores. A second run on the same Dir continues from it.
	Dir string
	// Rounds is how many miner rounds to run before returning (0: until ctx ends).
	Rounds int
	// BlockTime is the chain's block interval; Tempo the blocks between Yuma epochs.
	BlockTime time.Duration
	Tempo     uint16
	// Validators is the number of validators (at least 2, with different stakes).
	Validators int
	// Steps is a miner's training budget per round, in optimizer steps (the best miner's;
	// the others get fractions of it). SeqLen and Batch shape those steps.
	Steps  int64
	SeqLen int
	Batch  int
	// Pages is the number of corpus pages the competition evaluates on; EvalSeqLen its
	// sequence length. The local competition's are 4 and 512.
	Pages      int
	EvalSeqLen int
	// HubListen, DataListen and LeaderboardListen are the local hub's, datasets server's and
	// leaderboard's addresses ("127.0.0.1:0": any free port).
	HubListen, DataListen, LeaderboardListen string
	// WorkerCommand runs an evaluation worker (default: this executable, "eval-worker").
	WorkerCommand []string
	WorkerEnv     []string
	EvalTimeout   time.Duration
	// Out receives the live summary lines (nil: none).
	Out    io.Writer
	Logger *slog.Logger
}

// Defaults fill a Config's zero values: 2 s blocks, a 20-block tempo, 2 validators, 40
// training steps of 4 x 128 tokens a round, the local competition's 4 pages of 512 tokens.
func (c Config) withDefaults() Config {
	c.Dir = cmp.Or(c.Dir, "localnet")
	c.BlockTime = cmp.Or(c.BlockTime, 2*time.Second)
	c.Tempo = cmp.Or(c.Tempo, 20)
	c.Validators = cmp.Or(c.Validators, 2)
	c.Steps = cmp.Or(c.Steps, 40)
	c.SeqLen = cmp.Or(c.SeqLen, 128)
	c.Batch = cmp.Or(c.Batch, 4)
	c.Pages = cmp.Or(c.Pages, 4)
	c.EvalSeqLen = cmp.Or(c.EvalSeqLen, 512)
	c.HubListen = cmp.Or(c.HubListen, "127.0.0.1:0")
	c.DataListen = cmp.Or(c.DataListen, "127.0.0.1:0")
	c.LeaderboardListen = cmp.Or(c.LeaderboardListen, "127.0.0.1:0")
	c.EvalTimeout = cmp.Or(c.EvalTimeout, 5*time.Minute)
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// Validate checks the configuration.
func (c Config) Validate() error {
	c = c.withDefaults()
	switch {
	case c.Rounds < 0:
		return errors.New("localnet: negative rounds")
	case c.Validators < 2:
		return errors.New("localnet: at least 2 validators, so that consensus has something to agree on")
	case c.Steps < 1 || c.SeqLen < 16 || c.Batch < 1:
		return errors.New("localnet: steps, sequence length and batch must be positive (sequence length at least 16)")
	case c.Pages < 1 || c.EvalSeqLen < 16:
		return errors.New("localnet: pages and eval sequence length must be positive")
	case c.BlockTime < 100*time.Millisecond:
		return errors.New("localnet: block time below 100 ms")
	}
	return nil
}
