package localnet

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pretrain/pretrain/eval"
)

// The test binary doubles as the validators' eval worker.
const workerEnv = "PRETRAIN_LOCALNET_TEST_WORKER"

func TestMain(m *testing.M) {
	if os.Getenv(workerEnv) == "1" {
		if err := eval.RunWorker(context.Background(), os.Stdin, os.Stdout, slog.New(slog.NewTextHandler(os.Stderr, nil))); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestTwoRounds runs `localnet --rounds 2` with small settings and checks the summary against
// the chain: a winner each round, weights set by every validator, the copier not winning,
// the cheater's model rejected with its reason, and the incentive going to the winner.
func TestTwoRounds(t *testing.T) {
	if testing.Short() {
		t.Skip("trains models and runs the whole subnet for two rounds")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	start := time.Now()
	cfg := Config{Dir: t.TempDir(), Rounds: 2, BlockTime: 500 * time.Millisecond, Tempo: 10,
		Steps: 12, SeqLen: 64, Batch: 2, Pages: 1, EvalSeqLen: 64,
		WorkerCommand: []string{exe}, WorkerEnv: append(os.Environ(), workerEnv+"=1"), EvalTimeout: 3 * time.Minute, Out: &out}
	sum, err := Run(context.Background(), cfg)
	t.Logf("live output:\n%s", out.String())
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	t.Logf("two rounds in %v", time.Since(start))
	if len(sum.Rounds) != 2 {
		t.Fatalf("%d rounds in the summary, want 2", len(sum.Rounds))
	}
	names := map[string]MinerSummary{}
	for _, m := range sum.Miners {
		names[m.Name] = m
	}
	for _, r := range sum.Rounds {
		if r.Winner == nil {
			t.Fatalf("round %d: no winner", r.Round)
		}
		if r.Winner.Name == "dave" || r.Winner.Name == "eve" {
			t.Errorf("round %d: the winner is %s (%s)", r.Round, r.Winner.Name, names[r.Winner.Name].Role)
		}
		for _, v := range sum.Validators {
			if len(r.Weights[v.Name]) == 0 {
				t.Errorf("round %d: %s has no weights on chain", r.Round, v.Name)
			}
		}
	}
	if d := names["dave"]; d.Status != "evaluated" {
		t.Errorf("the copier: status %q (%s), want its copy evaluated in round 2", d.Status, d.Reason)
	}
	if e := names["eve"]; e.Status != "rejected" || !strings.Contains(e.Reason, "n_positions") {
		t.Errorf("the cheater: status %q reason %q, want rejected for n_positions", e.Status, e.Reason)
	}
	last := sum.Rounds[1]
	winner := strconv.Itoa(int(last.Winner.UID))
	for uid, x := range sum.Incentive {
		if x > sum.Incentive[winner] {
			t.Errorf("incentive %v: uid %s has more than the winner %s", sum.Incentive, uid, winner)
		}
	}
	if sum.Incentive[winner] <= 0 {
		t.Errorf("incentive %v: none for the winner %s", sum.Incentive, winner)
	}
	continues(t, cfg, sum)
}

// continues checks that a second run on the same directory goes on with round 3, on the same
// chain and neurons; it is stopped as soon as round 3 starts.
func continues(t *testing.T, cfg Config, first *Summary) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	w := &watchWriter{want: "round 3: miners train and push", found: cancel}
	cfg.Rounds, cfg.Out = 0, w
	sum, err := Run(ctx, cfg)
	if !w.seen {
		t.Fatalf("the second run did not continue with round 3: %v\n%s", err, w.buf.String())
	}
	if sum == nil || sum.Chain != first.Chain || len(sum.Miners) != len(first.Miners) || sum.Miners[0].UID != first.Miners[0].UID {
		t.Errorf("the second run's summary %+v does not continue the first's chain and neurons", sum)
	}
}

// watchWriter calls found once the text it receives contains want.
type watchWriter struct {
	buf   bytes.Buffer
	want  string
	seen  bool
	found func()
}

func (w *watchWriter) Write(p []byte) (int, error) {
	w.buf.Write(p)
	if !w.seen && strings.Contains(w.buf.String(), w.want) {
		w.seen = true
		w.found()
	}
	return len(p), nil
}
