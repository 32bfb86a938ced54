// Package leaderboardtest builds a recorded subnet for leaderboard tests: a local chain with
// validators, miners, commitments, weights and an epoch's incentive, plus validators' step
// logs that score those miners, one as a file and one served over HTTP as a validator serves
// it. The step logs include the hostile strings and bad lines a leaderboard must survive.
package leaderboardtest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pretrain/pretrain/chain"
	"github.com/pretrain/pretrain/chain/localchain"
	"github.com/pretrain/pretrain/competition"
	"github.com/pretrain/pretrain/validator"
	"github.com/pretrain/pretrain/wallet"
)

// NetUID is the fixture's subnet.
const NetUID = 9

// The fixture's uids: two validators, then miners.
const (
	V0          chain.UID = iota // 300 τ; its step log is a file
	V1                           // 100 τ; its step log is served over HTTP
	Best                         // the best model: lowest loss, most weight
	Hostile                      // a valid repo id full of markup, second best
	Failed                       // scored, but failed the sanity check
	OffSchedule                  // committed to a competition the local schedule does not run
	Garbage                      // a commitment that is not model metadata
	Fresh                        // committed too recently to be evaluated
)

// Repos and commits of the fixture's models.
var (
	BestRepo      = "alice/gpt-tiny"
	BestCommit    = strings.Repeat("ab", 20)
	OldBestCommit = strings.Repeat("0a", 20) // Best's commit in the first step, replaced since
	HostileRepo   = `"><img src=x onerror=alert(1)>/a&b<i>`
	HostileCommit = strings.Repeat("cd", 20)
	FailedRepo    = "carol/broken"
	FailedReason  = `sanity check failed: <script>alert(2)</script>`
	GarbageData   = `not a model <script>alert(3)</script>`
	OffRepo       = "dave/big"
	FreshRepo     = "erin/new"
	Dataset       = "pretrain/demo-corpus"
	secureHash    = strings.Repeat("A", 43) + "="
	keyURIs       = []string{"//V0", "//V1", "//M2", "//M3", "//M4", "//M5", "//M6", "//M7"}
)

// Fixture is a recorded subnet: a local chain file and two validators' step logs.
type Fixture struct {
	ChainPath string
	Chain     *localchain.Chain // open, manual blocks; closed by the test's cleanup
	Head      chain.Block
	Hotkeys   []string // by uid

	// StepLogPath is V0's step log: its records as JSON lines, plus SkippedLines lines a
	// reader must skip (malformed JSON, a newer format version) and unknown fields it must
	// ignore.
	StepLogPath  string
	SkippedLines int
	// V1Steps are V1's records, for a StepLogHandler.
	V1Steps []validator.StepRecord
	// Steps are every well-formed record of both validators.
	Steps []validator.StepRecord
}

// Metadata returns the commitment string of a model of the fixture.
func Metadata(repo, commit string, comp competition.ID) string {
	ns, name, _ := strings.Cut(repo, "/")
	return fmt.Sprintf("%s:%s:%s:%s:%d", ns, name, commit, secureHash, comp)
}

// New builds the fixture in t.TempDir().
func New(t testing.TB) *Fixture {
	t.Helper()
	ctx := t.Context()
	dir := t.TempDir()
	f := &Fixture{ChainPath: filepath.Join(dir, "chain.db"), StepLogPath: filepath.Join(dir, "v0.steplog")}
	c, err := localchain.Open(ctx, localchain.Config{Path: f.ChainPath, Manual: true})
	must(t, err)
	t.Cleanup(func() { c.Close() })
	f.Chain = c
	must(t, c.CreateSubnet(ctx, NetUID, localchain.SubnetConfig{Tempo: 10, MaxValidators: 2, NoWeightsRateLimit: true, NoCommitRateLimit: true}))
	cold := key(t, "//Cold")
	var hot []*wallet.Keypair
	for _, name := range keyURIs {
		k := key(t, name)
		hot = append(hot, k)
		_, err := c.Register(ctx, NetUID, k.SS58(), cold.SS58())
		must(t, err)
		f.Hotkeys = append(f.Hotkeys, k.SS58())
	}
	must(t, c.AddStake(ctx, hot[V0].SS58(), cold.SS58(), 300e9))
	must(t, c.AddStake(ctx, hot[V1].SS58(), cold.SS58(), 100e9))
	advance(t, c, 1) // head 1: the models are committed here
	for uid, data := range map[chain.UID]string{
		Best:        Metadata(BestRepo, BestCommit, competition.Local),
		Hostile:     Metadata(HostileRepo, HostileCommit, competition.Local),
		Failed:      Metadata(FailedRepo, strings.Repeat("ef", 20), competition.Local),
		OffSchedule: Metadata(OffRepo, strings.Repeat("12", 20), competition.B14ModelMultiData),
		Garbage:     GarbageData,
	} {
		must(t, c.Commit(ctx, hot[uid], NetUID, data))
	}
	advance(t, c, 10) // head 11: the first epoch gave the validators their permits
	must(t, c.SetWeights(ctx, hot[V0], NetUID, []chain.UID{Best, Hostile}, []uint16{50000, 15535}, competition.WeightsVersionKey))
	must(t, c.SetWeights(ctx, hot[V1], NetUID, []chain.UID{Best, Hostile, Failed}, []uint16{40000, 20000, 5535}, competition.WeightsVersionKey))
	advance(t, c, 19) // head 30: the epoch at 22 paid incentive
	must(t, c.Commit(ctx, hot[Fresh], NetUID, Metadata(FreshRepo, strings.Repeat("34", 20), competition.Local)))
	f.Head = advance(t, c, 3) // head 33: Fresh is eligible from block 40

	t0 := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	v0 := []validator.StepRecord{
		f.step(V0, 1, 15, t0, []result{{Best, BestRepo, OldBestCommit, 3.2, 1, 0.73}, {Hostile, HostileRepo, HostileCommit, 3.6, 0, 0.27}, {Failed, FailedRepo, "", -1, 0, 0}}),
		f.step(V0, 2, 22, t0.Add(10*time.Minute), []result{{Best, BestRepo, BestCommit, 3.1, 1, 0.8}, {Hostile, HostileRepo, HostileCommit, 3.5, 0, 0.2}}),
		f.step(V0, 3, 30, t0.Add(20*time.Minute), []result{{Best, BestRepo, BestCommit, 3.05, 1, 0.9}, {Hostile, HostileRepo, HostileCommit, 3.45, 0, 0.1}, {Failed, FailedRepo, "", -1, 0, 0}}),
	}
	f.V1Steps = []validator.StepRecord{
		f.step(V1, 7, 18, t0.Add(5*time.Minute), []result{{Best, BestRepo, OldBestCommit, 3.21, 1, 0.7}, {Hostile, HostileRepo, HostileCommit, 3.62, 0, 0.3}}),
		f.step(V1, 8, 28, t0.Add(15*time.Minute), []result{{Best, BestRepo, BestCommit, 3.09, 1, 0.75}, {Hostile, HostileRepo, HostileCommit, 3.48, 0.5, 0.25}}),
	}
	f.Steps = append(append([]validator.StepRecord(nil), v0...), f.V1Steps...)
	f.writeStepLog(t, v0)
	return f
}

// result is one uid's line in a fixture step; loss < 0 is a failed model.
type result struct {
	uid     chain.UID
	repo    string
	commit  string
	loss    float64
	winRate float64
	weight  float32
}

func (f *Fixture) step(v chain.UID, step int64, block chain.Block, at time.Time, rs []result) validator.StepRecord {
	vuid := v
	r := validator.StepRecord{
		Version: validator.StepLogVersion, Step: step, Timestamp: at, ValidatorHotkey: f.Hotkeys[v],
		ValidatorUID: &vuid, Block: block, CompetitionID: competition.Local, Seed: strconv.Itoa(int(block) * 7919),
		SyncBlock: block - block%5, Pages: []string{Dataset + ":default:" + strconv.Itoa(int(step))},
		UIDData: map[string]validator.UIDRec{}, SubnetWeights: make([]float32, len(f.Hotkeys)),
	}
	for _, x := range rs {
		commitBlock := chain.Block(1)
		rec := validator.UIDRec{UID: x.uid, Hotkey: f.Hotkeys[x.uid], Block: &commitBlock, HF: x.repo, Commit: x.commit,
			CompetitionID: competition.Local, WinRate: x.winRate, Weight: x.weight, NormWeight: x.weight,
			EpsilonAdv: competition.LocalConstraints.Epsilon.Epsilon(block, commitBlock)}
		if x.loss >= 0 {
			loss := x.loss
			rec.AverageLoss = &loss
			rec.Competitive = true
			rec.DatasetPerf = map[string]validator.LossRecord{Dataset: {AverageLoss: &loss}}
		} else {
			rec.Reason = FailedReason
		}
		if x.winRate == 1 {
			u := x.uid
			r.TopUID = &u
		}
		r.UIDs = append(r.UIDs, x.uid)
		r.UIDData[strconv.Itoa(int(x.uid))] = rec
		r.SubnetWeights[x.uid] = x.weight
	}
	return r
}

// writeStepLog writes recs as JSON lines, with a line of malformed JSON, a line of a newer
// format version, and an unknown field in the first record.
func (f *Fixture) writeStepLog(t testing.TB, recs []validator.StepRecord) {
	var b strings.Builder
	for i, r := range recs {
		line, err := json.Marshal(r)
		must(t, err)
		if i == 0 {
			line = append([]byte(`{"future_field":{"x":[1,2]},`), line[1:]...)
		}
		b.Write(line)
		b.WriteByte('\n')
		if i == 0 {
			b.WriteString("{\"version\":1,\"step\":\n")
			b.WriteString(`{"version":99,"step":4,"validator_hotkey":"x"}` + "\n")
			f.SkippedLines = 2
		}
	}
	must(t, os.WriteFile(f.StepLogPath, []byte(b.String()), 0o600))
}

// StepLogHandler serves recs as a validator serves its step log: GET /steplog returns every
// record as JSON lines, ?since=STEP only those with a larger step.
func StepLogHandler(recs func() []validator.StepRecord) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /steplog", func(w http.ResponseWriter, r *http.Request) {
		since := int64(-1)
		if s := r.URL.Query().Get("since"); s != "" {
			v, err := strconv.ParseInt(s, 10, 64)
			if err != nil {
				http.Error(w, "bad since", http.StatusBadRequest)
				return
			}
			since = v
		}
		w.Header().Set("Content-Type", "application/jsonl")
		enc := json.NewEncoder(w)
		for _, rec := range recs() {
			if rec.Step > since {
				enc.Encode(rec)
			}
		}
	})
	return mux
}

func key(t testing.TB, uri string) *wallet.Keypair {
	t.Helper()
	k, err := wallet.FromURI(uri)
	must(t, err)
	return k
}

func advance(t testing.TB, c *localchain.Chain, n int64) chain.Block {
	t.Helper()
	b, err := c.Advance(t.Context(), n)
	must(t, err)
	return b
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
