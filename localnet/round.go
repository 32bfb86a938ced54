package localnet

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/pretrain/pretrain/chain"
	"github.com/pretrain/pretrain/validator"
)

// RoundSummary is what one round decided.
type RoundSummary struct {
	Round  int         `json:"round"`
	Block  chain.Block `json:"block"` // when the round ended
	Winner *UIDRef     `json:"winner"`
	// Losses are the first validator's scores of this round's step, by uid (null: +Inf).
	Losses map[string]*float64 `json:"losses"`
	// Weights are each validator's weights on chain after the round, normalized, by uid.
	Weights   map[string]map[string]float64 `json:"weights"`
	Incentive map[string]float64            `json:"incentive"`
	Seconds   float64                       `json:"seconds"`
}

// UIDRef names a neuron.
type UIDRef struct {
	UID  chain.UID `json:"uid"`
	Name string    `json:"name"`
}

// roundTimeout bounds the wait for the validators to evaluate a round's models.
const roundTimeout = 20 * time.Minute

// round runs round r: every miner plays, then the validators evaluate the new models, set
// weights, and an epoch turns them into incentive.
func (n *Net) round(ctx context.Context, r int) (*RoundSummary, error) {
	start := time.Now()
	n.printf("round %d: miners train and push\n", r)
	want := map[chain.UID]chain.ModelMetadata{}
	for _, m := range n.miners {
		meta, err := m.play(ctx, n, r)
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if err != nil {
			// One failing miner does not stop the round.
			m.err, m.status = err, "failed: "+err.Error()
			n.log.Error("miner failed", "miner", m.name, "err", err)
			n.printf("  %-6s uid %d: failed: %v\n", m.name, m.uid, err)
			continue
		}
		m.err = nil
		if meta != nil {
			want[m.uid] = *meta
			n.printf("  %-6s uid %d: %s; committed %s at block %d\n", m.name, m.uid, m.status, meta.ID.Commit[:12], meta.Block)
		} else {
			n.printf("  %-6s uid %d: %s\n", m.name, m.uid, m.status)
		}
	}
	n.printf("round %d: validators evaluate %d new models\n", r, len(want))
	wctx, cancel := context.WithTimeout(ctx, roundTimeout)
	recs, err := n.waitEvaluated(wctx, start, want)
	cancel()
	if err != nil {
		return nil, fmt.Errorf("round %d: waiting for the validators: %w", r, err)
	}
	b0, err := n.chain.CurrentBlock(ctx)
	if err != nil {
		return nil, err
	}
	if err := n.waitWeights(ctx, recs); err != nil {
		return nil, err
	}
	// The committed weights are revealed within a reveal period (one epoch), and the epoch
	// after that turns them into incentive.
	if err := n.waitRevealed(ctx, b0); err != nil {
		return nil, err
	}
	b1, err := n.chain.CurrentBlock(ctx)
	if err != nil {
		return nil, err
	}
	if err := n.waitBlock(ctx, b1+chain.Block(n.cfg.Tempo)+1); err != nil {
		return nil, err
	}
	rs := &RoundSummary{Round: r, Losses: map[string]*float64{}, Seconds: time.Since(start).Seconds()}
	if top := recs[0].TopUID; top != nil {
		rs.Winner = &UIDRef{UID: *top, Name: n.nameOf(*top)}
	}
	for k, u := range recs[0].UIDData {
		rs.Losses[k] = u.AverageLoss
	}
	mg, err := n.chain.Metagraph(ctx, NetUID)
	if err != nil {
		return nil, err
	}
	rs.Block = mg.Block
	rs.Weights, rs.Incentive = n.weightsOf(mg), incentiveOf(mg)
	n.printf("round %d done in %.0f s at block %d: best uid %s; %s; incentive %s\n", r, rs.Seconds, rs.Block,
		n.describe(rs.Winner, rs.Losses), formatWeights(rs.Weights), formatMap(rs.Incentive))
	return rs, nil
}

// waitWeights waits until every validator has set weights after its step.
func (n *Net) waitWeights(ctx context.Context, recs []*validator.StepRecord) error {
	for i, v := range n.vals {
		for {
			last, _ := validator.LastWeights(v.v.Config().ModelDir)
			if last != nil && !last.Time.Before(recs[i].Timestamp) {
				break
			}
			if v.err != nil {
				return fmt.Errorf("%s stopped: %w", v.name, v.err)
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(time.Second):
			}
		}
	}
	return nil
}

// waitRevealed waits until every validator's weights on chain were updated at or after
// block since (set, or revealed from a commit).
func (n *Net) waitRevealed(ctx context.Context, since chain.Block) error {
	for {
		mg, err := n.chain.Metagraph(ctx, NetUID)
		if err != nil {
			return err
		}
		done := true
		for _, v := range n.vals {
			if int(v.uid) >= mg.N || mg.LastUpdate[v.uid] < since || len(mg.Weights[v.uid]) == 0 {
				done = false
			}
		}
		if done {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(n.cfg.BlockTime):
		}
	}
}

func (n *Net) waitBlock(ctx context.Context, b chain.Block) error {
	for {
		cur, err := n.chain.CurrentBlock(ctx)
		if err != nil {
			return err
		}
		if cur >= b {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(n.cfg.BlockTime / 2):
		}
	}
}

func (n *Net) nameOf(uid chain.UID) string {
	for _, m := range n.miners {
		if m.uid == uid {
			return m.name
		}
	}
	for _, v := range n.vals {
		if v.uid == uid {
			return v.name
		}
	}
	return "?"
}

// weightsOf reads each validator's weight row, normalized to sum 1.
func (n *Net) weightsOf(mg *chain.Metagraph) map[string]map[string]float64 {
	out := map[string]map[string]float64{}
	for _, v := range n.vals {
		row := map[string]float64{}
		if int(v.uid) < len(mg.Weights) {
			sum := 0.0
			for _, e := range mg.Weights[v.uid] {
				sum += float64(e.Weight)
			}
			for _, e := range mg.Weights[v.uid] {
				if sum > 0 {
					row[strconv.Itoa(int(e.UID))] = float64(e.Weight) / sum
				}
			}
		}
		out[v.name] = row
	}
	return out
}

func incentiveOf(mg *chain.Metagraph) map[string]float64 {
	out := map[string]float64{}
	for uid, x := range mg.Incentive {
		if x > 0 {
			out[strconv.Itoa(uid)] = x
		}
	}
	return out
}

func (n *Net) describe(w *UIDRef, losses map[string]*float64) string {
	if w == nil {
		return "none"
	}
	s := fmt.Sprintf("%d (%s)", w.UID, w.Name)
	if l := losses[strconv.Itoa(int(w.UID))]; l != nil {
		s += fmt.Sprintf(" loss %.4f", *l)
	}
	return s
}

func formatWeights(w map[string]map[string]float64) string {
	var parts []string
	for _, name := range sortedKeys(w) {
		parts = append(parts, name+" "+formatMap(w[name]))
	}
	return "weights " + strings.Join(parts, ", ")
}

func formatMap(m map[string]float64) string {
	var parts []string
	for _, k := range sortedKeys(m) {
		parts = append(parts, fmt.Sprintf("%s:%.3f", k, m[k]))
	}
	return "{" + strings.Join(parts, " ") + "}"
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		a, errA := strconv.Atoi(keys[i])
		b, errB := strconv.Atoi(keys[j])
		if errA == nil && errB == nil {
			return a < b
		}
		return keys[i] < keys[j]
	})
	return keys
}
