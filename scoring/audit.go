package scoring

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"

	"github.com/pretrain/pretrain/chain"
	"github.com/pretrain/pretrain/competition"
	"github.com/pretrain/pretrain/internal/bounded"
)

// Bounds on an audit input, far above any real subnet (256 uids).
const (
	maxAuditBytes  = 16 << 20
	maxAuditModels = 4096
)

// AuditInput is one competition step written down by hand: what `pretrain rank` reads.
type AuditInput struct {
	CompetitionID competition.ID `json:"competition_id"`
	CurrentBlock  chain.Block    `json:"current_block"`
	Models        []AuditModel   `json:"models"`
}

// AuditModel is one evaluated uid; a null or missing score is a failed model (+Inf).
type AuditModel struct {
	UID   chain.UID   `json:"uid"`
	Block chain.Block `json:"block"`
	Score *float64    `json:"score"`
}

// AuditOutput is the step's outcome, keyed by uid.
type AuditOutput struct {
	CompetitionID  competition.ID         `json:"competition_id"`
	CurrentBlock   chain.Block            `json:"current_block"`
	Epsilon        string                 `json:"epsilon_func"`
	CompetitiveIDs []chain.UID            `json:"competitive_uids"`
	Wins           map[string]int         `json:"wins"`
	WinRates       map[string]float64     `json:"win_rates"`
	Weights        map[string]float64     `json:"weights"`
	EpsilonAdv     map[string]float64     `json:"epsilon_adv"`
	TopUID         *chain.UID             `json:"top_uid"`
	Scores         map[string]jsonFloat64 `json:"scores"`
}

// jsonFloat64 writes +Inf as the string "inf", which JSON numbers cannot hold.
type jsonFloat64 float64

func (f jsonFloat64) MarshalJSON() ([]byte, error) {
	if math.IsInf(float64(f), 1) {
		return []byte(`"inf"`), nil
	}
	return json.Marshal(float64(f))
}

// ParseAuditInput reads and validates an AuditInput (at most 16 MiB, 4096 models, unique
// uids, finite non-negative scores, non-negative blocks).
func ParseAuditInput(r io.Reader) (AuditInput, error) {
	raw, err := bounded.ReadAll(r, maxAuditBytes)
	if err != nil {
		return AuditInput{}, fmt.Errorf("read rank input: %w", err)
	}
	var in AuditInput
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		return AuditInput{}, fmt.Errorf("parse rank input: %w", err)
	}
	if dec.More() {
		return AuditInput{}, errors.New("parse rank input: trailing data after the object")
	}
	if len(in.Models) > maxAuditModels {
		return AuditInput{}, fmt.Errorf("rank input: %d models, limit %d", len(in.Models), maxAuditModels)
	}
	if in.CurrentBlock < 0 {
		return AuditInput{}, fmt.Errorf("rank input: negative current_block %d", in.CurrentBlock)
	}
	seen := map[chain.UID]bool{}
	for _, m := range in.Models {
		if seen[m.UID] {
			return AuditInput{}, fmt.Errorf("rank input: uid %d listed twice", m.UID)
		}
		seen[m.UID] = true
		if m.Block < 0 {
			return AuditInput{}, fmt.Errorf("rank input: uid %d: negative block %d", m.UID, m.Block)
		}
		if m.Score != nil && !(*m.Score >= 0) {
			return AuditInput{}, fmt.Errorf("rank input: uid %d: score %v is not a loss", m.UID, *m.Score)
		}
	}
	return in, nil
}

// Audit ranks a step as the validator would at in.CurrentBlock, with the epsilon function the
// schedule gives in.CompetitionID at that block.
func Audit(in AuditInput, schedule competition.Schedule) (AuditOutput, error) {
	comp, ok, err := schedule.Lookup(in.CompetitionID, in.CurrentBlock)
	if err != nil {
		return AuditOutput{}, err
	}
	if !ok {
		return AuditOutput{}, fmt.Errorf("competition %s is not active at block %d", in.CompetitionID, in.CurrentBlock)
	}
	eps := comp.Constraints.Epsilon
	models := make([]Model, len(in.Models))
	uids := make([]chain.UID, len(in.Models))
	n := 0
	for i, m := range in.Models {
		loss := math.Inf(1)
		if m.Score != nil {
			loss = *m.Score
		}
		models[i] = Model{UID: m.UID, Block: m.Block, Loss: loss}
		uids[i] = m.UID
		n = max(n, int(m.UID)+1)
	}
	r, err := Rank(models, eps, in.CurrentBlock)
	if err != nil {
		return AuditOutput{}, err
	}
	w, err := StepWeights(uids, r.WinRates, competition.Temperature, n)
	if err != nil {
		return AuditOutput{}, err
	}
	out := AuditOutput{
		CompetitionID: in.CompetitionID, CurrentBlock: in.CurrentBlock,
		Epsilon:        fmt.Sprint(eps),
		CompetitiveIDs: r.Competitive,
		Wins:           map[string]int{}, WinRates: map[string]float64{},
		Weights: map[string]float64{}, EpsilonAdv: map[string]float64{}, Scores: map[string]jsonFloat64{},
	}
	if out.CompetitiveIDs == nil {
		out.CompetitiveIDs = []chain.UID{}
	}
	if r.HasTop {
		out.TopUID = &r.Top
	}
	for _, uid := range r.Competitive {
		out.Wins[key(uid)] = r.Wins[uid]
		out.WinRates[key(uid)] = r.WinRates[uid]
	}
	for _, m := range models {
		out.Weights[key(m.UID)] = float64(w[m.UID])
		out.EpsilonAdv[key(m.UID)] = eps.Epsilon(in.CurrentBlock, m.Block)
		out.Scores[key(m.UID)] = jsonFloat64(m.Loss)
	}
	return out, nil
}

func key(uid chain.UID) string { return strconv.Itoa(int(uid)) }
