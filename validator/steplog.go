package validator

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/pretrain/pretrain/chain"
	"github.com/pretrain/pretrain/competition"
)

// StepLogVersion is the format version of a StepRecord; readers refuse newer versions.
const StepLogVersion = 1

// A StepRecord is one line of the validator's step log (JSON lines, one per evaluation step).
// It carries the reference's wandb step_log ("original_format_json": timestamp,
// competition_id, seed, pages, uids, uid_data with block, hf, average_loss, epsilon_adv,
// win_rate, win_total, weight, norm_weight, dataset_perf), plus what an operator needs to
// audit or replay the step: commits, hashes, rejection reasons, timings and the weights set.
//
// Scores are losses; a failed or rejected model has a null score and a Reason.
type StepRecord struct {
	Version         int               `json:"version"`
	Step            int64             `json:"step"` // the validator's global step
	Timestamp       time.Time         `json:"timestamp"`
	ValidatorHotkey string            `json:"validator_hotkey"`
	ValidatorUID    *chain.UID        `json:"validator_uid,omitempty"`
	Block           chain.Block       `json:"block"` // the current block when the step ran
	CompetitionID   competition.ID    `json:"competition_id"`
	Seed            string            `json:"seed"`       // decimal
	SyncBlock       chain.Block       `json:"sync_block"` // whose hash made the seed (0: fallback seed)
	Pages           []string          `json:"pages"`      // "{dataset}:{config}:{page}"
	Tasks           []TaskRecord      `json:"tasks"`
	UIDs            []chain.UID       `json:"uids"` // in evaluation order
	UIDData         map[string]UIDRec `json:"uid_data"`
	TopUID          *chain.UID        `json:"top_uid,omitempty"`
	// Rejected are the miners of this competition whose committed model was refused before
	// evaluation (hash, size, constraints), with the reason; they are not part of the step.
	Rejected map[string]UIDRec `json:"rejected,omitempty"`
	Timings  StepTimings       `json:"timings"`
	// SubnetWeights are the validator's weights over all uids after the step (what it sets
	// next), indexed by uid.
	SubnetWeights []float32 `json:"subnet_weights"`
}

// TaskRecord is one evaluation task of the step and the data it read.
type TaskRecord struct {
	Name    string   `json:"name"`
	Dataset string   `json:"dataset"`
	Weight  float64  `json:"weight"`
	Pages   []string `json:"pages"`
	Batches int      `json:"batches"`
	Tokens  int      `json:"tokens"`
}

// UIDRec is one uid's result in a step (the reference's uid_data entry plus ours).
type UIDRec struct {
	UID           chain.UID      `json:"uid"`
	Hotkey        string         `json:"hotkey"`
	Block         *chain.Block   `json:"block"` // commit block; null where the reference has inf
	HF            string         `json:"hf"`    // "namespace/name", or "Unknown"
	Commit        string         `json:"commit,omitempty"`
	SecureHash    string         `json:"secure_hash,omitempty"`
	CompetitionID competition.ID `json:"competition_id"`
	// AverageLoss is the score (the weighted mean of task losses); null when the model failed.
	AverageLoss *float64              `json:"average_loss"`
	Reason      string                `json:"reason,omitempty"` // why the score is +Inf
	EpsilonAdv  float64               `json:"epsilon_adv"`
	WinRate     float64               `json:"win_rate"`
	WinTotal    int                   `json:"win_total"`
	Competitive bool                  `json:"competitive"`
	Weight      float32               `json:"weight"`      // this step's softmax weight
	NormWeight  float32               `json:"norm_weight"` // the competition tracker's weight after the step
	DatasetPerf map[string]LossRecord `json:"dataset_perf"`
	Tasks       map[string]TaskScore  `json:"task_scores"`
	LoadSeconds float64               `json:"load_seconds"`
	EvalSeconds float64               `json:"eval_seconds"`
}

// LossRecord is the legacy dataset_perf value the reference's leaderboard reads.
type LossRecord struct {
	AverageLoss *float64 `json:"average_loss"`
}

// TaskScore is ScoreDetails: a task's raw score, normalized score and weighted normalized
// score (null when the task failed), and the number of samples.
type TaskScore struct {
	RawScore          *float64 `json:"raw_score"`
	NormScore         *float64 `json:"norm_score"`
	WeightedNormScore *float64 `json:"weighted_norm_score"`
	NumSamples        int      `json:"num_samples"`
}

// StepTimings are the step's PerfMonitors, in seconds.
type StepTimings struct {
	Total       float64 `json:"total"`
	LoadData    Summary `json:"load_data"`
	LoadModel   Summary `json:"load_model"`
	ComputeLoss Summary `json:"compute_loss"`
	Scoring     float64 `json:"scoring"` // wins, weights, state: everything after the scores
}

// Summary is a PerfMonitor's {min, median, max, P90} in seconds, with the sample count.
type Summary struct {
	N      int     `json:"n"`
	Min    float64 `json:"min"`
	Median float64 `json:"median"`
	Max    float64 `json:"max"`
	P90    float64 `json:"p90"`
}

// StepLog is the validator's step log file: JSON lines, appended and synced once per step.
// Safe for concurrent use.
type StepLog struct {
	mu   sync.Mutex
	path string
}

// OpenStepLog opens (creating its directory) the step log at path.
func OpenStepLog(path string) (*StepLog, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("step log: %w", err)
	}
	return &StepLog{path: path}, nil
}

// Path is the file's path.
func (l *StepLog) Path() string { return l.path }

// Append writes rec as one line and syncs it.
func (l *StepLog) Append(rec *StepRecord) error {
	b, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("step log: %w", err)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	f, err := os.OpenFile(l.path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("step log: %w", err)
	}
	if _, err := f.Write(append(b, '\n')); err != nil {
		f.Close()
		return fmt.Errorf("step log: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("step log: %w", err)
	}
	return f.Close()
}

// maxStepLine bounds one record (256 uids with every field is well under 1 MiB).
const maxStepLine = 8 << 20

// ReadSteps reads the records of a step log with step > since, keeping the last record of a
// step that was written twice (a crash between the log and the state repeats a step). A
// truncated last line (a crash mid-write) is skipped.
func ReadSteps(r io.Reader, since int64) ([]StepRecord, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), maxStepLine)
	var out []StepRecord
	index := map[int64]int{}
	for sc.Scan() {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		var rec StepRecord
		if err := json.Unmarshal(line, &rec); err != nil {
			continue
		}
		if rec.Version > StepLogVersion {
			return nil, fmt.Errorf("step log: record version %d, this build reads up to %d", rec.Version, StepLogVersion)
		}
		if rec.Step <= since {
			continue
		}
		if i, ok := index[rec.Step]; ok {
			out[i] = rec
			continue
		}
		index[rec.Step] = len(out)
		out = append(out, rec)
	}
	return out, sc.Err()
}

// Read returns the records with step > since.
func (l *StepLog) Read(since int64) ([]StepRecord, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	f, err := os.Open(l.path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ReadSteps(f, since)
}

// ServeHTTP serves the log as JSON lines: GET /steplog[?since=STEP].
func (l *StepLog) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	since := int64(-1)
	if s := r.URL.Query().Get("since"); s != "" {
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			http.Error(w, "since: not an integer", http.StatusBadRequest)
			return
		}
		since = v
	}
	recs, err := l.Read(since)
	if err != nil {
		http.Error(w, "step log unavailable", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.Header().Set("Cache-Control", "no-cache")
	enc := json.NewEncoder(w)
	for i := range recs {
		if err := enc.Encode(&recs[i]); err != nil {
			return
		}
	}
}
