package validator

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/pretrain/pretrain/nn"
)

// BenchmarkStep measures one full evaluation step on the embedded parts (local chain, hub and
// datasets server) with 5 small models (gpt2-tiny shapes with a sampling generation config, so
// each passes the sanity check and is scored on every batch), split as the step log splits it:
// data, model load and compute (summed over the models, inside the workers), scoring, and the
// fraction of the step spent outside the models' forward passes (everything but compute).
//
//	go test -run XXX -bench BenchmarkStep -benchtime 3x ./validator/
func BenchmarkStep(b *testing.B) {
	ctx := context.Background()
	s := newSubnet(b)
	vali, _ := s.register(b, "//Validator", 100_000)
	for i := range 5 {
		k, _ := s.register(b, "//miner"+strconv.Itoa(i), 0)
		dir := b.TempDir()
		if _, err := nn.InitModelDir(dir, "gpt2-tiny", "F32", uint64(i+1)); err != nil {
			b.Fatal(err)
		}
		gen := `{"do_sample": true, "top_k": 50, "bos_token_id": 50256, "eos_token_id": 50256}`
		if err := os.WriteFile(filepath.Join(dir, "generation_config.json"), []byte(gen), 0o644); err != nil {
			b.Fatal(err)
		}
		s.publish(b, k, dir, "miner/m"+strconv.Itoa(i), "")
		s.advance(b, 1)
	}
	s.advance(b, 3)
	cfg := validatorConfig(b.TempDir())
	v, err := New(cfg, Deps{Chain: s.chain, Signer: vali, Hub: s.public, Data: s.data, Evaluator: newTestWorker(b, 5*time.Minute)})
	if err != nil {
		b.Fatal(err)
	}
	if err := v.SyncMetagraph(ctx); err != nil {
		b.Fatal(err)
	}
	for range v.metagraph().N {
		_ = v.updateNext(ctx)
	}
	var data, load, compute, scoring, total float64
	b.ResetTimer()
	for range b.N {
		rec, err := v.Step(ctx)
		if err != nil || rec == nil || len(rec.UIDs) != 5 {
			b.Fatalf("step: %v (record %v)", err, rec)
		}
		t := rec.Timings
		data += t.LoadData.Max
		for _, u := range rec.UIDData {
			load += u.LoadSeconds
			compute += u.EvalSeconds
			if u.AverageLoss == nil {
				b.Fatalf("uid %d failed: %s", u.UID, u.Reason)
			}
		}
		scoring += t.Scoring
		total += t.Total
	}
	n := float64(b.N)
	b.ReportMetric(data/n, "data-s/step")
	b.ReportMetric(load/n, "load-s/step")
	b.ReportMetric(compute/n, "compute-s/step")
	b.ReportMetric(scoring/n, "scoring-s/step")
	b.ReportMetric(total/n, "total-s/step")
	b.ReportMetric((total-compute)/total, "outside-forward-fraction")
}
