// Package competition owns Subnet 9's competitions: their ids, the constraints a model must
// meet, the epsilon functions that favour earlier models, the evaluation tasks, and the
// schedule that says which competitions run, with what share of the reward, from which block
// (the reference's constants/__init__.py and taoverse's model/competition/). It is pure: no
// I/O, no clocks.
package competition

import (
	"errors"
	"fmt"
	"math"

	"github.com/pretrain/pretrain/chain"
)

// ID is a competition id as committed in model metadata (the reference's CompetitionId).
type ID int

// The reference's CompetitionId values, plus Local for this project's embedded runs.
const (
	B7Model             ID = 0
	M772Model           ID = 1
	B3Model             ID = 2
	B7ModelLowerEpsilon ID = 3
	B14Model            ID = 4
	B14ModelMultiData   ID = 5
	TTSV0               ID = 6
	// Local is this project's small competition for localnet and tests. It sits at the top of
	// the two-digit range the metadata string allows, far from the reference's ids.
	Local ID = 99
)

var idNames = map[ID]string{
	B7Model: "B7_MODEL", M772Model: "M772_MODEL", B3Model: "B3_MODEL",
	B7ModelLowerEpsilon: "B7_MODEL_LOWER_EPSILON", B14Model: "B14_MODEL",
	B14ModelMultiData: "B14_MODEL_MULTI_DATASET", TTSV0: "TTS_V0", Local: "LOCAL",
}

func (id ID) String() string {
	if s, ok := idNames[id]; ok {
		return s
	}
	return fmt.Sprintf("ID(%d)", int(id))
}

// DatasetID names an evaluation dataset (the reference's DatasetId).
type DatasetID int

const (
	DatasetNone       DatasetID = 0
	DatasetFalcon     DatasetID = 1
	DatasetFineWeb    DatasetID = 2
	DatasetFineWeb2   DatasetID = 3 // FineWeb-edu score-2
	DatasetStack1     DatasetID = 4
	DatasetStack2     DatasetID = 5
	DatasetPes2oX     DatasetID = 6
	DatasetFineMath3P DatasetID = 7
	DatasetWebMath3P  DatasetID = 8
	DatasetPPLSpeech  DatasetID = 9
	// DatasetLocal is the local datasets server's demo corpus (this project's, not the reference's).
	DatasetLocal DatasetID = 99
)

// EvalMethod is how a task scores a model (the reference's EvalMethodId).
type EvalMethod int

const (
	MethodTextLoss EvalMethod = 1
	MethodWER      EvalMethod = 2
)

// Normalization maps a raw task score into the range the task weight applies to (the
// reference's NormalizationId).
type Normalization int

const (
	NormNone               Normalization = 0
	NormInverseExponential Normalization = 1
)

// Normalize applies n to a raw score as taoverse's normalize_score does. ceiling is used by
// NormInverseExponential only.
func (n Normalization) Normalize(score, ceiling float64) float64 {
	switch n {
	case NormInverseExponential:
		if score >= ceiling {
			return 1
		}
		return (1 - math.Exp(-score/ceiling)) / (1 - math.Exp(-1))
	default:
		return score
	}
}

// EvalTask is one dataset a competition scores models on (taoverse's EvalTask).
type EvalTask struct {
	Name          string
	Method        EvalMethod
	Dataset       DatasetID
	Normalization Normalization
	// Ceiling is the inverse-exponential normalization's "ceiling" kwarg.
	Ceiling float64
	// BatchSize and NumPages are the dataset loader's kwargs.
	BatchSize int
	NumPages  int
	Weight    float64
}

// Validate applies EvalTask.__post_init__'s checks.
func (t EvalTask) Validate() error {
	if !(t.Weight > 0) {
		return fmt.Errorf("eval task %s: weight must be positive, got %g", t.Name, t.Weight)
	}
	switch t.Normalization {
	case NormNone:
		if t.Ceiling != 0 {
			return fmt.Errorf("eval task %s: no normalization kwargs allowed for NONE", t.Name)
		}
	case NormInverseExponential:
		if !(t.Ceiling > 0) {
			return fmt.Errorf("eval task %s: inverse-exponential normalization needs a positive ceiling", t.Name)
		}
	default:
		return fmt.Errorf("eval task %s: unknown normalization %d", t.Name, t.Normalization)
	}
	return nil
}

// Constraints are what a model must satisfy to take part in a competition (taoverse's
// ModelConstraints).
type Constraints struct {
	MinParams, MaxParams int64 // inclusive window on sum(p.numel())
	// SequenceLength is the evaluation window L; 0 where the reference has None (TTS).
	SequenceLength int
	// Architectures are the allowed config.json "architectures"[0] class names (an exact match,
	// as the reference's type(model) in allowed_architectures).
	Architectures []string
	Tokenizer     string
	// TorchDtype and AttnImplementation are the from_pretrained kwargs the reference passes.
	TorchDtype         string
	AttnImplementation string
	EvalBlockDelay     chain.Block
	Epsilon            EpsilonFunc
	MaxBytes           int64 // total size of the repo at the commit
}

// AllowsArchitecture reports whether arch is one of the allowed architectures.
func (c Constraints) AllowsArchitecture(arch string) bool {
	for _, a := range c.Architectures {
		if a == arch {
			return true
		}
	}
	return false
}

// Competition is one competition as scheduled at some block.
type Competition struct {
	ID          ID
	Constraints Constraints
	// RewardShare is the fraction of the subnet's weight this competition's winners share.
	RewardShare float64
	Tasks       []EvalTask
	// Unsupported is set for competitions that are listed (so ids resolve and shares add up)
	// but that this implementation cannot evaluate. A validator must skip them entirely:
	// scoring every model +Inf would hand the whole share to the earliest model, whereas
	// recording no weights lets the subnet weights renormalize over the other competitions.
	Unsupported string
}

// Stage is the set of competitions active from a block on.
type Stage struct {
	Block        chain.Block
	Competitions []Competition
}

// Schedule is a list of stages by ascending activation block.
type Schedule []Stage

// ErrNoSchedule is returned for blocks before the first stage.
var ErrNoSchedule = errors.New("no competition schedule")

// At returns the competitions active at block: those of the last stage whose block is <= block
// (taoverse's get_competition_schedule_for_block).
func (s Schedule) At(block chain.Block) ([]Competition, error) {
	var found []Competition
	ok := false
	for _, st := range s {
		if block >= st.Block {
			found, ok = st.Competitions, true
		}
	}
	if !ok {
		return nil, fmt.Errorf("%w for block %d", ErrNoSchedule, block)
	}
	return found, nil
}

// Lookup returns competition id as scheduled at block, and false if it is not active then
// (taoverse's get_competition_for_block).
func (s Schedule) Lookup(id ID, block chain.Block) (Competition, bool, error) {
	comps, err := s.At(block)
	if err != nil {
		return Competition{}, false, err
	}
	for _, c := range comps {
		if c.ID == id {
			return c, true, nil
		}
	}
	return Competition{}, false, nil
}

// sumTolerance bounds the rounding error allowed when shares or weights must sum to 1.
const sumTolerance = 1e-9

// Validate checks what the reference asserts at import time: stages in ascending block order,
// reward shares summing to 1 at each stage, task weights summing to 1 within each text
// competition, valid tasks, and no competition listed twice in a stage.
func (s Schedule) Validate() error {
	for i, st := range s {
		if i > 0 && st.Block < s[i-1].Block {
			return fmt.Errorf("schedule: stage %d at block %d precedes block %d", i, st.Block, s[i-1].Block)
		}
		seen := map[ID]bool{}
		shares := 0.0
		for _, c := range st.Competitions {
			if seen[c.ID] {
				return fmt.Errorf("schedule: block %d lists competition %s twice", st.Block, c.ID)
			}
			seen[c.ID] = true
			shares += c.RewardShare
			if err := c.validate(); err != nil {
				return fmt.Errorf("schedule: block %d: %w", st.Block, err)
			}
		}
		if math.Abs(shares-1) > sumTolerance {
			return fmt.Errorf("schedule: reward shares at block %d sum to %g, want 1", st.Block, shares)
		}
	}
	return nil
}

func (c Competition) validate() error {
	if c.Constraints.Epsilon == nil {
		return fmt.Errorf("competition %s: no epsilon function", c.ID)
	}
	if len(c.Tasks) == 0 {
		return fmt.Errorf("competition %s: no eval tasks", c.ID)
	}
	weights := 0.0
	for _, t := range c.Tasks {
		if err := t.Validate(); err != nil {
			return fmt.Errorf("competition %s: %w", c.ID, err)
		}
		weights += t.Weight
	}
	if math.Abs(weights-1) > sumTolerance {
		return fmt.Errorf("competition %s: task weights sum to %g, want 1", c.ID, weights)
	}
	return nil
}
