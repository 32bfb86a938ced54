package leaderboard

import (
	"cmp"
	"fmt"
	"maps"
	"math"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/pretrain/pretrain/chain"
	"github.com/pretrain/pretrain/competition"
	"github.com/pretrain/pretrain/validator"
)

// Model statuses.
const (
	StatusEvaluated = "evaluated"
	StatusPending   = "pending"
	StatusRejected  = "rejected"
)

// topModels is how many models per competition the validator board and the history chart
// follow.
const topModels = 5

// Inputs are everything a Board is computed from.
type Inputs struct {
	NetUID   uint16
	Chain    *ChainSnapshot // nil until the chain has been read once
	Steps    []validator.StepRecord
	Schedule competition.Schedule
	// Hub is the model hub's base URL (https://huggingface.co); repo links point into it.
	Hub     string
	Sources []SourceStatus
	Now     time.Time
	// DownloadFlags are appended to the `pretrain download` command shown per uid (the chain
	// flags the leaderboard itself was started with).
	DownloadFlags string
}

// Board is the leaderboard at one moment: what every page and the JSON API show. It is
// computed by Build from a chain snapshot and step records and never changes afterwards.
type Board struct {
	NetUID       uint16         `json:"netuid"`
	Block        chain.Block    `json:"block"` // the chain's head when it was read; 0 before
	Updated      time.Time      `json:"updated"`
	Stale        bool           `json:"stale"` // a source's last read failed: data may be old
	Sources      []SourceStatus `json:"sources"`
	Competitions []*Competition `json:"competitions"`
	// Unparsed are commitments that are not model metadata, with the parse error as reason.
	Unparsed   []*Model     `json:"unparsed_commitments"`
	Validators []*Validator `json:"validators"`
	// TopUIDs are the models the validator board follows: each competition's first ones.
	TopUIDs   []chain.UID `json:"top_uids"`
	Agreement Agreement   `json:"agreement"`

	models        map[chain.UID]*Model
	index         scoreIndex
	meta          *chain.Metagraph
	hub           string
	downloadFlags string
}

// Competition is one competition's ranked models.
type Competition struct {
	ID          competition.ID `json:"id"`
	Name        string         `json:"name"`
	Active      bool           `json:"active"` // scheduled at the board's block
	RewardShare float64        `json:"reward_share"`
	Note        string         `json:"note,omitempty"`
	// Datasets are the dataset names of the models' latest losses, sorted.
	Datasets []string `json:"datasets"`
	// Models are ranked: evaluated first by incentive (highest first), then loss (lowest
	// first), then uid; then pending; then rejected.
	Models []*Model    `json:"models"`
	Best   *chain.UID  `json:"best_uid"`
	Top    []UIDScores `json:"top_history"` // the first evaluated models' scores over time
}

// Model is one uid's current model as committed on chain, and what validators said of it.
type Model struct {
	Rank          int            `json:"rank"`
	UID           chain.UID      `json:"uid"`
	Hotkey        string         `json:"hotkey"`
	Metadata      string         `json:"metadata"` // the commitment as committed
	Repo          string         `json:"repo,omitempty"`
	Commit        string         `json:"commit,omitempty"`
	URL           string         `json:"url,omitempty"` // the hub's page of the repo at the commit
	CompetitionID competition.ID `json:"competition_id"`
	CommitBlock   chain.Block    `json:"commit_block"`
	// EpsilonAdv is the competition's epsilon at the board's block for this commit block
	// (null where the competition is not scheduled).
	EpsilonAdv  *float64                        `json:"epsilon_advantage_now"`
	Loss        *float64                        `json:"loss"`                   // the latest step's average loss of this commit
	DatasetLoss map[string]validator.LossRecord `json:"dataset_perf,omitempty"` // the step's per-dataset losses
	WinRate     *float64                        `json:"win_rate"`
	WinTotal    *int                            `json:"win_total"`
	ScoredBy    *StepRef                        `json:"scored_by,omitempty"` // the step Loss comes from
	Weights     []ValidatorWeight               `json:"validator_weights"`   // one per Board.Validators entry
	Incentive   float64                         `json:"incentive"`
	Emission    float64                         `json:"emission"`
	Status      string                          `json:"status"`
	Reason      string                          `json:"reason,omitempty"`
}

// StepRef names one validator step.
type StepRef struct {
	Validator    string      `json:"validator_hotkey"`
	ValidatorUID *chain.UID  `json:"validator_uid,omitempty"`
	Step         int64       `json:"step"`
	Block        chain.Block `json:"block"`
	Time         time.Time   `json:"time"`
}

// ValidatorWeight is the share of a validator's weight row on one uid (its weight over the
// row's sum, as the chain normalizes it).
type ValidatorWeight struct {
	Validator chain.UID `json:"validator_uid"`
	Weight    float64   `json:"weight"`
}

// UIDWeight is a validator's share on one uid.
type UIDWeight struct {
	UID    chain.UID `json:"uid"`
	Weight float64   `json:"weight"`
}

// Validator is one validator's row on the validator board.
type Validator struct {
	UID        chain.UID   `json:"uid"`
	Hotkey     string      `json:"hotkey"`
	Stake      float64     `json:"stake"`
	VTrust     float64     `json:"validator_trust"`
	Permit     bool        `json:"validator_permit"`
	LastUpdate chain.Block `json:"last_update"` // block of its last weights
	// TopWeights are its shares on Board.TopUIDs, in that order.
	TopWeights []UIDWeight `json:"top_weights"`
	// LatestStep is its newest step record, if its step log is followed.
	LatestStep *StepRef           `json:"latest_step,omitempty"`
	TopUID     map[string]*uint16 `json:"top_uid_by_competition,omitempty"`
	row        []chain.WeightEntry
}

// Agreement is the cosine similarity of every pair of validators' weight rows (1: the same
// direction, 0: no uid in common); null where a row is all zeros.
type Agreement struct {
	Validators []chain.UID  `json:"validators"`
	Cosine     [][]*float64 `json:"cosine"`
}

// UIDScores is one uid's scores over time.
type UIDScores struct {
	UID    chain.UID `json:"uid"`
	Scores []Score   `json:"scores"`
}

// Score is one step's result for one uid.
type Score struct {
	StepRef
	Repo        string                          `json:"repo"`
	Commit      string                          `json:"commit,omitempty"`
	Loss        *float64                        `json:"loss"` // null: the model failed (see Reason)
	DatasetLoss map[string]validator.LossRecord `json:"dataset_perf,omitempty"`
	WinRate     float64                         `json:"win_rate"`
	WinTotal    int                             `json:"win_total"`
	Weight      float32                         `json:"weight"` // the step's softmax weight
	Reason      string                          `json:"reason,omitempty"`
}

// Build computes the board. It is pure: the same inputs give the same board.
func Build(in Inputs) *Board {
	b := &Board{NetUID: in.NetUID, Updated: in.Now, Sources: in.Sources,
		models: map[chain.UID]*Model{}, hub: in.Hub, downloadFlags: in.DownloadFlags}
	for _, s := range in.Sources {
		b.Stale = b.Stale || s.Stale()
	}
	snap := in.Chain
	if snap == nil {
		return b
	}
	m := snap.Metagraph
	b.Block, b.meta = snap.Block, m
	b.index = indexScores(in.Steps, m)
	b.Validators = validators(m)
	comps := map[competition.ID]*Competition{}
	active, _ := in.Schedule.At(snap.Block) // before the first stage nothing is active
	for _, c := range active {
		comp := &Competition{ID: c.ID, Name: c.ID.String(), Active: true, RewardShare: c.RewardShare, Note: c.Unsupported}
		comps[c.ID] = comp
		b.Competitions = append(b.Competitions, comp)
	}
	for _, uid := range slices.Sorted(maps.Keys(snap.Commitments)) {
		if int(uid) >= m.N {
			continue
		}
		model := b.model(in, uid, snap.Commitments[uid], active)
		b.models[uid] = model
		if model.Repo == "" {
			b.Unparsed = append(b.Unparsed, model)
			continue
		}
		comp := comps[model.CompetitionID]
		if comp == nil {
			comp = &Competition{ID: model.CompetitionID, Name: model.CompetitionID.String()}
			comps[model.CompetitionID] = comp
			b.Competitions = append(b.Competitions, comp)
		}
		comp.Models = append(comp.Models, model)
	}
	for _, comp := range b.Competitions {
		b.rank(comp)
	}
	latest, top := latestSteps(in.Steps, m)
	for _, v := range b.Validators {
		for _, uid := range b.TopUIDs {
			v.TopWeights = append(v.TopWeights, UIDWeight{uid, share(v.row, uid)})
		}
		v.LatestStep, v.TopUID = latest[v.Hotkey], top[v.Hotkey]
	}
	b.Agreement = agreement(b.Validators)
	return b
}

// model joins a uid's commitment with its latest step result.
func (b *Board) model(in Inputs, uid chain.UID, c chain.Commitment, active []competition.Competition) *Model {
	m := in.Chain.Metagraph
	model := &Model{UID: uid, Hotkey: m.Hotkeys[uid], Metadata: c.Data, CommitBlock: c.Block,
		Incentive: m.Incentive[uid], Emission: m.Emission[uid], Status: StatusPending}
	for _, v := range b.Validators {
		model.Weights = append(model.Weights, ValidatorWeight{v.UID, share(v.row, uid)})
	}
	id, err := chain.ParseModelID(c.Data)
	if err == nil {
		_, _, err = chain.SplitRepoID(id.RepoID())
	}
	if err != nil {
		model.Status, model.Reason = StatusRejected, err.Error()
		return model
	}
	model.Repo, model.Commit, model.CompetitionID = id.RepoID(), id.Commit, competition.ID(id.CompetitionID)
	model.URL = repoURL(in.Hub, id)
	i := slices.IndexFunc(active, func(c competition.Competition) bool { return c.ID == model.CompetitionID })
	if i < 0 {
		model.Status = StatusRejected
		model.Reason = fmt.Sprintf("competition %s is not scheduled at block %d", model.CompetitionID, in.Chain.Block)
		return model
	}
	comp := active[i]
	eps := comp.Constraints.Epsilon.Epsilon(in.Chain.Block, c.Block)
	model.EpsilonAdv = &eps
	if comp.Unsupported != "" {
		model.Status, model.Reason = StatusRejected, "not evaluated here: "+comp.Unsupported
		return model
	}
	scores := b.index.scores(uid, model.Hotkey)
	for k := len(scores) - 1; k >= 0; k-- {
		s := scores[k]
		if s.Repo != model.Repo || (s.Commit != "" && s.Commit != model.Commit) {
			continue
		}
		ref := s.StepRef
		model.ScoredBy, model.Loss, model.DatasetLoss = &ref, s.Loss, s.DatasetLoss
		model.WinRate, model.WinTotal = &s.WinRate, &s.WinTotal
		if s.Loss != nil {
			model.Status = StatusEvaluated
		} else {
			model.Status, model.Reason = StatusRejected, cmp.Or(s.Reason, "evaluation failed")
		}
		return model
	}
	if eligible := c.Block + comp.Constraints.EvalBlockDelay; in.Chain.Block < eligible {
		model.Reason = fmt.Sprintf("eligible for evaluation from block %d", eligible)
	} else {
		model.Reason = "no validator step has scored this commit yet"
	}
	return model
}

// repoURL is the hub page of the repo at the commit: {hub}/{ns}/{name}/tree/{commit}.
func repoURL(hub string, id chain.ModelID) string {
	u := strings.TrimRight(hub, "/") + "/" + url.PathEscape(id.Namespace) + "/" + url.PathEscape(id.Name)
	if id.Commit != "" {
		u += "/tree/" + url.PathEscape(id.Commit)
	}
	return u
}

func statusOrder(s string) int {
	return map[string]int{StatusEvaluated: 0, StatusPending: 1, StatusRejected: 2}[s]
}

// rank orders comp's models, numbers them, and records the best and top models' history.
func (b *Board) rank(comp *Competition) {
	slices.SortFunc(comp.Models, func(x, y *Model) int {
		return cmp.Or(
			cmp.Compare(statusOrder(x.Status), statusOrder(y.Status)),
			cmp.Compare(y.Incentive, x.Incentive),
			cmp.Compare(lossKey(x.Loss), lossKey(y.Loss)),
			cmp.Compare(x.UID, y.UID))
	})
	datasets := map[string]bool{}
	for i, m := range comp.Models {
		m.Rank = i + 1
		for name := range m.DatasetLoss {
			datasets[name] = true
		}
		if m.Status == StatusEvaluated && len(comp.Top) < topModels {
			if comp.Best == nil {
				uid := m.UID
				comp.Best = &uid
			}
			comp.Top = append(comp.Top, UIDScores{m.UID, b.index.scores(m.UID, m.Hotkey)})
		}
		if i < 3 {
			b.TopUIDs = append(b.TopUIDs, m.UID)
		}
	}
	comp.Datasets = slices.Sorted(maps.Keys(datasets))
}

func lossKey(l *float64) float64 {
	if l == nil {
		return math.Inf(1)
	}
	return *l
}

// validators are the uids with a validator permit or a weight row, by stake (highest first).
func validators(m *chain.Metagraph) []*Validator {
	var vs []*Validator
	for uid := range m.N {
		if !m.ValidatorPermit[uid] && len(m.Weights[uid]) == 0 {
			continue
		}
		vs = append(vs, &Validator{UID: chain.UID(uid), Hotkey: m.Hotkeys[uid], Stake: m.Stake[uid],
			VTrust: m.ValidatorTrust[uid], Permit: m.ValidatorPermit[uid], LastUpdate: m.LastUpdate[uid], row: m.Weights[uid]})
	}
	slices.SortStableFunc(vs, func(x, y *Validator) int { return cmp.Compare(y.Stake, x.Stake) })
	return vs
}

// share is row's weight on uid over the row's sum (0 for an empty row).
func share(row []chain.WeightEntry, uid chain.UID) float64 {
	var sum, w float64
	for _, e := range row {
		sum += float64(e.Weight)
		if e.UID == uid {
			w = float64(e.Weight)
		}
	}
	if sum == 0 {
		return 0
	}
	return w / sum
}

// agreement is the cosine similarity of the validators' weight rows that are not empty.
func agreement(vs []*Validator) Agreement {
	var a Agreement
	var rows [][]chain.WeightEntry
	var dense []map[chain.UID]float64
	for _, v := range vs {
		if len(v.row) > 0 {
			a.Validators = append(a.Validators, v.UID)
			rows = append(rows, v.row)
			dense = append(dense, rowMap(v.row))
		}
	}
	for i := range rows {
		line := make([]*float64, len(rows))
		for j := range rows {
			line[j] = cosine(rows[i], rows[j], dense[j])
		}
		a.Cosine = append(a.Cosine, line)
	}
	return a
}

func rowMap(row []chain.WeightEntry) map[chain.UID]float64 {
	m := make(map[chain.UID]float64, len(row))
	for _, e := range row {
		m[e.UID] += float64(e.Weight)
	}
	return m
}

// cosine is x·y/(|x||y|) over uids (ym is y by uid), summed in row order so that the result
// is repeatable.
func cosine(x, y []chain.WeightEntry, ym map[chain.UID]float64) *float64 {
	var dot, nx, ny float64
	for _, e := range x {
		dot += float64(e.Weight) * ym[e.UID]
		nx += float64(e.Weight) * float64(e.Weight)
	}
	for _, e := range y {
		ny += float64(e.Weight) * float64(e.Weight)
	}
	if nx == 0 || ny == 0 {
		return nil
	}
	c := dot / math.Sqrt(nx*ny)
	return &c
}

// scoreIndex holds every step's result per uid, oldest first (by block, then time, then
// validator, then step), built once per board.
type scoreIndex map[chain.UID][]indexedScore

type indexedScore struct {
	Score
	hotkey string // the hotkey the uid had when scored ("" if the record does not say)
}

// indexScores indexes steps by uid. A validator's uid is its hotkey's uid in m, or the
// record's own claim when m lacks the hotkey.
func indexScores(steps []validator.StepRecord, m *chain.Metagraph) scoreIndex {
	uidOf := map[string]chain.UID{}
	if m != nil {
		for uid, h := range m.Hotkeys {
			uidOf[h] = chain.UID(uid)
		}
	}
	idx := scoreIndex{}
	for i := range steps {
		r := &steps[i]
		ref := stepRef(r, uidOf)
		for _, d := range r.UIDData {
			idx[d.UID] = append(idx[d.UID], indexedScore{Score{StepRef: ref, Repo: d.HF, Commit: d.Commit,
				Loss: d.AverageLoss, DatasetLoss: d.DatasetPerf, WinRate: d.WinRate, WinTotal: d.WinTotal,
				Weight: d.Weight, Reason: d.Reason}, d.Hotkey})
		}
		// Models the validator refused before evaluating them (hash, size, constraints).
		for _, d := range r.Rejected {
			idx[d.UID] = append(idx[d.UID], indexedScore{Score{StepRef: ref, Repo: d.HF, Commit: d.Commit,
				Reason: cmp.Or(d.Reason, "rejected by the validator")}, d.Hotkey})
		}
	}
	for _, list := range idx {
		slices.SortStableFunc(list, func(x, y indexedScore) int {
			return cmp.Or(cmp.Compare(x.Block, y.Block), x.Time.Compare(y.Time),
				cmp.Compare(x.Validator, y.Validator), cmp.Compare(x.Step, y.Step))
		})
	}
	return idx
}

func stepRef(r *validator.StepRecord, uidOf map[string]chain.UID) StepRef {
	ref := StepRef{Validator: r.ValidatorHotkey, ValidatorUID: r.ValidatorUID, Step: r.Step, Block: r.Block, Time: r.Timestamp}
	if uid, ok := uidOf[r.ValidatorHotkey]; ok {
		ref.ValidatorUID = &uid
	}
	return ref
}

// scores are uid's results, oldest first. Results the uid got under another hotkey (before a
// re-registration) are left out.
func (idx scoreIndex) scores(uid chain.UID, hotkey string) []Score {
	var out []Score
	for _, s := range idx[uid] {
		if s.hotkey == "" || s.hotkey == hotkey {
			out = append(out, s.Score)
		}
	}
	return out
}

// latestSteps returns each validator's newest step record and, per competition, the top uid
// of its newest step of that competition.
func latestSteps(steps []validator.StepRecord, m *chain.Metagraph) (map[string]*StepRef, map[string]map[string]*uint16) {
	uidOf := map[string]chain.UID{}
	for uid, h := range m.Hotkeys {
		uidOf[h] = chain.UID(uid)
	}
	latest := map[string]*StepRef{}
	top := map[string]map[string]*uint16{}
	topStep := map[string]int64{}
	for i := range steps {
		r := &steps[i]
		if l := latest[r.ValidatorHotkey]; l == nil || r.Step > l.Step {
			ref := stepRef(r, uidOf)
			latest[r.ValidatorHotkey] = &ref
		}
		comp := r.CompetitionID.String()
		key := r.ValidatorHotkey + "\x00" + comp
		if last, seen := topStep[key]; seen && last > r.Step {
			continue
		}
		topStep[key] = r.Step
		if top[r.ValidatorHotkey] == nil {
			top[r.ValidatorHotkey] = map[string]*uint16{}
		}
		var u *uint16
		if r.TopUID != nil {
			v := uint16(*r.TopUID)
			u = &v
		}
		top[r.ValidatorHotkey][comp] = u
	}
	return latest, top
}

// HasChain reports whether the chain has been read at least once.
func (b *Board) HasChain() bool { return b.meta != nil }

// Pages are the paths of the board's pages: the overview, each competition, the validator
// board, and each uid that has a commitment.
func (b *Board) Pages() []string {
	paths := []string{"/"}
	for _, c := range b.Competitions {
		paths = append(paths, fmt.Sprintf("/competition/%d", c.ID))
	}
	paths = append(paths, "/validators")
	for _, uid := range slices.Sorted(maps.Keys(b.models)) {
		paths = append(paths, fmt.Sprintf("/uid/%d", uid))
	}
	return paths
}
