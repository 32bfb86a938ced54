package leaderboard

import (
	"fmt"
	"strings"

	"github.com/pretrain/pretrain/chain"
)

// UIDReport is everything the leaderboard knows about one uid.
type UIDReport struct {
	UID    chain.UID `json:"uid"`
	Hotkey string    `json:"hotkey"`
	// Model is the uid's current commitment and its latest result (null without a
	// commitment).
	Model *Model `json:"model"`
	// Commits are the distinct models validators' steps scored under this uid, oldest first.
	Commits []CommitSeen `json:"commits"`
	Scores  []Score      `json:"scores"`
	// Download is the command that fetches the uid's current model ("" without a valid
	// commitment).
	Download string `json:"download_command"`
}

// CommitSeen is one repo@commit that validators scored for a uid.
type CommitSeen struct {
	Repo       string      `json:"repo"`
	Commit     string      `json:"commit,omitempty"`
	URL        string      `json:"url"`
	FirstBlock chain.Block `json:"first_block"`
	LastBlock  chain.Block `json:"last_block"`
	Steps      int         `json:"steps"`
	BestLoss   *float64    `json:"best_loss"` // lowest loss of those steps (null: none scored)
}

// UID returns the report of uid, and false when the metagraph has no such uid.
func (b *Board) UID(uid chain.UID) (*UIDReport, bool) {
	if b.meta == nil || int(uid) >= b.meta.N {
		return nil, false
	}
	r := &UIDReport{UID: uid, Hotkey: b.meta.Hotkeys[uid], Model: b.models[uid]}
	r.Scores = b.index.scores(uid, r.Hotkey)
	index := map[string]int{}
	for _, s := range r.Scores {
		key := s.Repo + "@" + s.Commit
		i, ok := index[key]
		if !ok {
			i = len(r.Commits)
			index[key] = i
			c := CommitSeen{Repo: s.Repo, Commit: s.Commit, FirstBlock: s.Block}
			if ns, name, err := chain.SplitRepoID(s.Repo); err == nil {
				c.URL = repoURL(b.hub, chain.ModelID{Namespace: ns, Name: name, Commit: s.Commit})
			}
			r.Commits = append(r.Commits, c)
		}
		c := &r.Commits[i]
		c.LastBlock, c.Steps = s.Block, c.Steps+1
		if s.Loss != nil && (c.BestLoss == nil || *s.Loss < *c.BestLoss) {
			c.BestLoss = s.Loss
		}
	}
	if r.Model != nil && r.Model.Repo != "" {
		r.Download = strings.TrimSpace(fmt.Sprintf("pretrain download %d ./uid-%d %s", uid, uid, b.downloadFlags))
	}
	return r, true
}
