package localnet

import (
	"context"
	"strconv"

	"github.com/pretrain/pretrain/chain"
)

// Summary is a localnet run's outcome: every miner with its role and status, every validator
// with its weights, each round's winner, and the incentive per uid.
type Summary struct {
	Dir            string             `json:"dir"`
	Chain          string             `json:"chain"` // the chain file
	NetUID         uint16             `json:"netuid"`
	HubURL         string             `json:"hub_url"`
	DataURL        string             `json:"data_url"`
	LeaderboardURL string             `json:"leaderboard_url"`
	Block          chain.Block        `json:"block"`
	Miners         []MinerSummary     `json:"miners"`
	Validators     []ValidatorSummary `json:"validators"`
	Rounds         []RoundSummary     `json:"rounds"`
	Incentive      map[string]float64 `json:"incentive"`
}

// MinerSummary is one miner's state at the end.
type MinerSummary struct {
	Name   string    `json:"name"`
	Role   string    `json:"role"`
	UID    chain.UID `json:"uid"`
	Hotkey string    `json:"hotkey"`
	Repo   string    `json:"repo,omitempty"`
	Commit string    `json:"commit,omitempty"`
	Status string    `json:"status"` // evaluated, rejected, not published, failed
	Reason string    `json:"reason,omitempty"`
	Loss   *float64  `json:"loss,omitempty"` // the first validator's last score
	Action string    `json:"last_action"`
}

// ValidatorSummary is one validator's state at the end.
type ValidatorSummary struct {
	Name           string             `json:"name"`
	UID            chain.UID          `json:"uid"`
	Hotkey         string             `json:"hotkey"`
	Stake          float64            `json:"stake"`
	ValidatorTrust float64            `json:"validator_trust"`
	Steps          int                `json:"steps"`
	Weights        map[string]float64 `json:"weights"`
	Error          string             `json:"error,omitempty"`
}

// fill completes the summary from the chain and the validators' step logs.
func (n *Net) fill(ctx context.Context, s *Summary) {
	mg, err := n.chain.Metagraph(ctx, NetUID)
	if err != nil {
		return
	}
	s.Block, s.Incentive = mg.Block, incentiveOf(mg)
	weights := n.weightsOf(mg)

	recs, _ := n.vals[0].v.StepLog().Read(-1)
	for _, v := range n.vals {
		vs := ValidatorSummary{Name: v.name, UID: v.uid, Hotkey: v.key.SS58(), Weights: weights[v.name]}
		if int(v.uid) < mg.N {
			vs.Stake, vs.ValidatorTrust = mg.Stake[v.uid], mg.ValidatorTrust[v.uid]
		}
		if r, err := v.v.StepLog().Read(-1); err == nil {
			vs.Steps = len(r)
		}
		if v.err != nil {
			vs.Error = v.err.Error()
		}
		s.Validators = append(s.Validators, vs)
	}

	for _, m := range n.miners {
		ms := MinerSummary{Name: m.name, Role: m.kind, UID: m.uid, Hotkey: m.key.SS58(), Status: "not published", Action: m.status}
		if m.pushed != nil {
			ms.Repo, ms.Commit = m.pushed.ID.RepoID(), m.pushed.ID.Commit
			ms.Status = "pending"
		}
		key := strconv.Itoa(int(m.uid))
		for i := len(recs) - 1; i >= 0 && m.pushed != nil; i-- {
			if u, ok := recs[i].UIDData[key]; ok && u.Commit == m.pushed.ID.Commit {
				ms.Status, ms.Loss, ms.Reason = "evaluated", u.AverageLoss, u.Reason
				break
			}
			if u, ok := recs[i].Rejected[key]; ok && u.Commit == m.pushed.ID.Commit {
				ms.Status, ms.Reason = "rejected", u.Reason
				break
			}
		}
		if m.err != nil {
			ms.Status, ms.Reason = "failed", m.err.Error()
		}
		s.Miners = append(s.Miners, ms)
	}
}
