package leaderboard

import (
	"context"
	"fmt"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pretrain/pretrain/chain"
	"github.com/pretrain/pretrain/competition"
	"github.com/pretrain/pretrain/validator"
)

// mainnetSized is a subnet of 256 uids with 64 validators, each weighting every uid, and
// nSteps steps per validator of steppers validators that each score 30 uids.
func mainnetSized(steppers, nSteps int) (*ChainSnapshot, []validator.StepRecord) {
	const n, validators, perStep = 256, 64, 30
	m := &chain.Metagraph{NetUID: 9, Block: 5_000_000, N: n, Hotkeys: make([]string, n), Stake: make([]float64, n),
		ValidatorPermit: make([]bool, n), ValidatorTrust: make([]float64, n), Incentive: make([]float64, n),
		Emission: make([]float64, n), LastUpdate: make([]chain.Block, n), Weights: make([][]chain.WeightEntry, n)}
	snap := &ChainSnapshot{Block: m.Block, Metagraph: m, Commitments: map[chain.UID]chain.Commitment{}}
	for uid := range n {
		m.Hotkeys[uid] = fmt.Sprintf("5Hotkey%040d", uid)
		m.Incentive[uid], m.Emission[uid] = float64(uid)/n/128, float64(uid)/1000
		if uid < validators {
			m.ValidatorPermit[uid], m.Stake[uid], m.ValidatorTrust[uid] = true, float64(1000*(validators-uid)), 0.9
			for dest := range n {
				m.Weights[uid] = append(m.Weights[uid], chain.WeightEntry{UID: chain.UID(dest), Weight: uint16(1 + (dest*uid)%65535)})
			}
			continue
		}
		comp := []int{2, 4}[uid%2]
		snap.Commitments[chain.UID(uid)] = chain.Commitment{Block: chain.Block(4_990_000 + uid),
			Data: fmt.Sprintf("org%d:model-%d:%040x:%s=:%d", uid, uid, uid, strings.Repeat("A", 43), comp)}
	}
	var steps []validator.StepRecord
	t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	for v := range steppers {
		for s := range nSteps {
			r := validator.StepRecord{Version: 1, Step: int64(s), Timestamp: t0.Add(time.Duration(s) * 20 * time.Minute),
				ValidatorHotkey: m.Hotkeys[v], Block: chain.Block(4_990_000 + 100*s), CompetitionID: competition.ID(2 + 2*(s%2)),
				UIDData: map[string]validator.UIDRec{}}
			for k := range perStep {
				uid := chain.UID(validators + (s*7+k*6+s%2)%(n-validators))
				id, _ := chain.ParseModelID(snap.Commitments[uid].Data)
				loss := 2 + float64(uid%17)/10 + float64(s%5)/100
				r.UIDData[strconv.Itoa(int(uid))] = validator.UIDRec{UID: uid, Hotkey: m.Hotkeys[uid], HF: id.RepoID(), Commit: id.Commit,
					AverageLoss: &loss, WinRate: 0.5, Weight: 0.01,
					DatasetPerf: map[string]validator.LossRecord{"HuggingFaceFW/fineweb": {AverageLoss: &loss}, "bigcode/the-stack-v2-dedup": {AverageLoss: &loss}},
					Tasks:       map[string]validator.TaskScore{"FINEWEB": {RawScore: &loss}, "STACKV2_DEDUP": {RawScore: &loss}}}
			}
			steps = append(steps, r)
		}
	}
	return snap, steps
}

// BenchmarkBuild measures a refresh's board computation on a mainnet-sized subnet with ten
// validators' 500 steps each, and reports the step store's heap.
func BenchmarkBuild(b *testing.B) {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	st := stepStore{max: 500}
	snap, steps := mainnetSized(10, 500)
	st.add(steps)
	steps = nil
	runtime.GC()
	runtime.ReadMemStats(&after) // the store and the snapshot
	all := st.all()
	in := Inputs{NetUID: 9, Chain: snap, Steps: all, Schedule: competition.Mainnet, Hub: "https://huggingface.co", Now: time.Now()}
	for b.Loop() {
		Build(in)
	}
	// After the loop: b.Loop's first call resets user metrics.
	b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/(1<<20), "MiB-store")
}

// BenchmarkRenderPages measures serving each page of that board.
func BenchmarkRenderPages(b *testing.B) {
	snap, steps := mainnetSized(10, 500)
	srv, err := New(Config{Chain: fakeReader{snap}, NetUID: 9, Schedule: competition.Mainnet})
	if err != nil {
		b.Fatal(err)
	}
	srv.steps.add(steps)
	srv.snapshot = snap
	srv.rebuild()
	h := srv.Handler()
	for _, path := range []string{"/", "/competition/2", "/validators", "/uid/100", "/api/board"} {
		b.Run(strings.ReplaceAll(strings.Trim(path, "/"), "/", "-"), func(b *testing.B) {
			var size int
			for b.Loop() {
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
				if rec.Code != 200 {
					b.Fatalf("GET %s = %d", path, rec.Code)
				}
				size = rec.Body.Len()
			}
			b.ReportMetric(float64(size)/1024, "KiB")
		})
	}
}

type fakeReader struct{ snap *ChainSnapshot }

func (f fakeReader) CurrentBlock(context.Context) (chain.Block, error) { return f.snap.Block, nil }
func (f fakeReader) BlockHash(context.Context, chain.Block) (chain.Hash, error) {
	return chain.Hash{}, chain.ErrNotFound
}
func (f fakeReader) Metagraph(context.Context, uint16) (*chain.Metagraph, error) {
	return f.snap.Metagraph, nil
}
func (f fakeReader) Commitment(_ context.Context, _ uint16, hotkey string) (chain.Commitment, error) {
	for uid, h := range f.snap.Metagraph.Hotkeys {
		if h == hotkey {
			if c, ok := f.snap.Commitments[chain.UID(uid)]; ok {
				return c, nil
			}
		}
	}
	return chain.Commitment{}, chain.ErrNotFound
}

func (f fakeReader) Hyperparameters(context.Context, uint16) (chain.Hyperparameters, error) {
	return chain.Hyperparameters{}, nil
}
