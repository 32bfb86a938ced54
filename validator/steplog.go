package validator

import (
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
	Timings         StepTimings       `json:"timings"`
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
