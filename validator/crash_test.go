package validator

import (
	"context"
	"encoding/json"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/pretrain/pretrain/chain"
	"github.com/pretrain/pretrain/chain/localchain"
	"github.com/pretrain/pretrain/dataset"
	"github.com/pretrain/pretrain/hub"
	"github.com/pretrain/pretrain/nn"
	"github.com/pretrain/pretrain/wallet"
)

// crashChildEnv makes the test binary a validator process (see runCrashChild) configured by
// the JSON in the variable.
const crashChildEnv = "PRETRAIN_TEST_VALIDATOR"

type crashChildConfig struct {
	ChainPath, HubURL, DataURL, ModelDir, Hotkey string
}

// runCrashChild runs a validator until it is killed.
func runCrashChild(raw string) int {
	var c crashChildConfig
	if err := json.Unmarshal([]byte(raw), &c); err != nil {
		return 3
	}
	ctx := context.Background()
	ch, err := localchain.Open(ctx, localchain.Config{Path: c.ChainPath})
	if err != nil {
		return 3
	}
	h, _ := hub.New(hub.Config{Endpoint: c.HubURL})
	data, _ := dataset.NewSources(dataset.SourcesConfig{Endpoint: c.DataURL})
	exe, _ := os.Executable()
	cfg := validatorConfig(c.ModelDir)
	cfg.IdleWait = 20 * time.Millisecond
	v, err := New(cfg, Deps{Chain: ch, Signer: keyOrDie(c.Hotkey), Hub: h, Data: data,
		Evaluator: newWorkerCommand(exe)})
	if err != nil {
		return 3
	}
	if err := v.Run(ctx); err != nil {
		return 4
	}
	return 0
}

// TestKillNineRestart kills a validator process with SIGKILL at random moments, many times,
// restarting it each time on the same model directory, and checks what must survive: the
// state file always loads, the global step never goes back, every step up to the last one is
// in the step log (a step interrupted mid-way is repeated, not skipped), and weights are set
// once (the chain's last update of the validator is not moved by a restart within the
// weights interval).
func TestKillNineRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("starts and kills validator processes")
	}
	ctx := context.Background()
	s := newSubnet(t)
	// A chain that moves by itself, as the child validator needs blocks to pass.
	if _, err := s.chain.Advance(ctx, 1); err != nil {
		t.Fatal(err)
	}
	_, vuid := s.register(t, "//Validator", 100_000)
	for i, name := range []string{"alice", "bob"} {
		k, _ := s.register(t, "//"+name, 0)
		dir := t.TempDir()
		if _, err := nn.InitModelDir(dir, "gpt2-tiny", "F32", uint64(i+1)); err != nil {
			t.Fatal(err)
		}
		s.publish(t, k, dir, "miner/"+name, "")
		s.advance(t, 1)
	}
	s.advance(t, 3)
	registered := lastUpdate(t, s, vuid)

	modelDir := t.TempDir()
	cfg, _ := json.Marshal(crashChildConfig{ChainPath: s.chainPath, HubURL: s.hubURL, DataURL: s.dataURL,
		ModelDir: modelDir, Hotkey: "//Validator"})
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	prevStep := int64(0)
	var weightsAt int64 = -1
	for round := 0; round < 6; round++ {
		cmd := exec.Command(exe)
		cmd.Env = append(os.Environ(), crashChildEnv+"="+string(cfg))
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		if round < 5 || weightsAt >= 0 {
			time.Sleep(time.Duration(500+rng.IntN(4000)) * time.Millisecond)
		} else { // the last run lives until the weights are set, to tell a slow machine from lost weights
			for deadline := time.Now().Add(90 * time.Second); time.Now().Before(deadline) && lastUpdate(t, s, vuid) == registered; {
				time.Sleep(200 * time.Millisecond)
			}
		}
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		s.advance(t, 1)

		st, err := LoadState(statePath(modelDir), DefaultConfig().SpecVersion, testLogger(t))
		if err != nil {
			t.Fatalf("round %d: state after SIGKILL: %v", round, err)
		}
		if st.GlobalStep < prevStep {
			t.Fatalf("round %d: global step went back from %d to %d", round, prevStep, st.GlobalStep)
		}
		prevStep = st.GlobalStep
		recs, err := (&StepLog{path: filepath.Join(modelDir, "vali-state", "steps.jsonl")}).Read(-1)
		if err != nil {
			t.Fatalf("round %d: step log: %v", round, err)
		}
		// Steps before the first model is queued evaluate nothing and leave no record; from
		// the first record on, every step keeps uids to evaluate, so none may be missing.
		seen := map[int64]bool{}
		first := int64(-1)
		for _, r := range recs {
			seen[r.Step] = true
			if first < 0 || r.Step < first {
				first = r.Step
			}
		}
		for step := first; first >= 0 && step < st.GlobalStep; step++ {
			if !seen[step] {
				t.Fatalf("round %d: step %d missing from the step log (global step %d)", round, step, st.GlobalStep)
			}
		}
		if lu := lastUpdate(t, s, vuid); lu != registered {
			if weightsAt >= 0 && lu != weightsAt {
				t.Fatalf("round %d: weights set again at block %d after %d (interval 1h)", round, lu, weightsAt)
			}
			weightsAt = lu
		}
		t.Logf("round %d: global step %d, %d records, weights at %d", round, st.GlobalStep, len(recs), weightsAt)
	}
	if prevStep == 0 {
		t.Error("no step completed in 6 runs")
	}
	if weightsAt < 0 {
		t.Error("weights were never set in 6 runs: lost")
	}
}

func keyOrDie(uri string) *wallet.Keypair {
	k, err := wallet.FromURI(uri)
	if err != nil {
		panic(err)
	}
	return k
}

func lastUpdate(t *testing.T, s *subnet, uid chain.UID) int64 {
	t.Helper()
	mg, err := s.chain.Metagraph(context.Background(), s.netuid)
	if err != nil {
		t.Fatal(err)
	}
	return int64(mg.LastUpdate[uid])
}

func testLogger(t testing.TB) *slog.Logger { return slog.New(slog.NewTextHandler(testWriter{t}, nil)) }
