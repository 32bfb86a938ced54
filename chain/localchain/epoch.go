package localchain

import (
	"context"
	"database/sql"
	"fmt"
	"math"

	"github.com/pretrain/pretrain/chain"
)

// state is one subnet's neurons as the epoch and the metagraph read them, indexed by uid.
type state struct {
	hotkeys, coldkeys                               []string
	stake                                           []uint64
	registered, lastUpdate                          []int64
	permit, active                                  []bool
	rank, trust, vtrust, consensus, incentive, divs []uint16
	pruning                                         []uint16
	emission                                        []uint64
	weights, bonds                                  [][]pair
}

func loadState(ctx context.Context, q querier, netuid uint16) (*state, error) {
	rows, err := q.QueryContext(ctx, `SELECT n.uid, n.hotkey, n.coldkey, coalesce(s.rao, 0), n.registered_block,
		n.last_update, n.validator_permit, n.active, n.rank, n.trust, n.validator_trust, n.consensus,
		n.incentive, n.dividends, n.emission, n.pruning_score
		FROM neurons n LEFT JOIN stake s ON s.hotkey = n.hotkey WHERE n.netuid = ? ORDER BY n.uid`, netuid)
	if err != nil {
		return nil, fmt.Errorf("load neurons: %w", err)
	}
	defer rows.Close()
	st := &state{}
	for rows.Next() {
		var (
			uid                                         int
			hk, ck                                      string
			stake, reg, lu, emission                    int64
			permit, active                              bool
			rank, trust, vtrust, cons, inc, divs, prune uint16
		)
		if err := rows.Scan(&uid, &hk, &ck, &stake, &reg, &lu, &permit, &active, &rank, &trust, &vtrust,
			&cons, &inc, &divs, &emission, &prune); err != nil {
			return nil, fmt.Errorf("load neurons: %w", err)
		}
		if uid != len(st.hotkeys) {
			return nil, fmt.Errorf("load neurons: uid %d out of sequence", uid)
		}
		st.hotkeys = append(st.hotkeys, hk)
		st.coldkeys = append(st.coldkeys, ck)
		st.stake = append(st.stake, uint64(stake))
		st.registered = append(st.registered, reg)
		st.lastUpdate = append(st.lastUpdate, lu)
		st.permit = append(st.permit, permit)
		st.active = append(st.active, active)
		st.rank = append(st.rank, rank)
		st.trust = append(st.trust, trust)
		st.vtrust = append(st.vtrust, vtrust)
		st.consensus = append(st.consensus, cons)
		st.incentive = append(st.incentive, inc)
		st.divs = append(st.divs, divs)
		st.emission = append(st.emission, uint64(emission))
		st.pruning = append(st.pruning, prune)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("load neurons: %w", err)
	}
	n := len(st.hotkeys)
	if st.weights, err = loadSparse(ctx, q, "weights", "weight", netuid, n); err != nil {
		return nil, err
	}
	if st.bonds, err = loadSparse(ctx, q, "bonds", "bond", netuid, n); err != nil {
		return nil, err
	}
	return st, nil
}

func loadSparse(ctx context.Context, q querier, table, col string, netuid uint16, n int) ([][]pair, error) {
	out := make([][]pair, n)
	rows, err := q.QueryContext(ctx, `SELECT uid, dest, `+col+` FROM `+table+` WHERE netuid = ? ORDER BY uid, pos`, netuid)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", table, err)
	}
	defer rows.Close()
	for rows.Next() {
		var uid int
		var p pair
		if err := rows.Scan(&uid, &p.UID, &p.Value); err != nil {
			return nil, fmt.Errorf("load %s: %w", table, err)
		}
		if uid < n {
			out[uid] = append(out[uid], p)
		}
	}
	return out, rows.Err()
}

// epoch runs Yuma Consensus for subnet s at block b inside tx and stores its results.
func (c *Chain) epoch(ctx context.Context, tx *sql.Tx, s subnet, b int64) error {
	if _, err := tx.ExecContext(ctx, `UPDATE subnets SET last_epoch_block = ? WHERE netuid = ?`, b, s.NetUID); err != nil {
		return fmt.Errorf("store epoch: %w", err)
	}
	st, err := loadState(ctx, tx, s.NetUID)
	if err != nil {
		return err
	}
	n := len(st.hotkeys)
	if n == 0 {
		return nil
	}
	owner := -1
	for i, hk := range st.hotkeys {
		if s.OwnerHotkey != "" && hk == s.OwnerHotkey {
			owner = i
		}
	}
	in := &epochInput{
		Block: uint64(b),
		Params: epochParams{
			Tempo: s.Tempo, ActivityCutoff: s.ActivityCutoff, Kappa: s.Kappa,
			BondsPenalty: s.BondsPenalty, BondsMovingAverage: s.BondsMovingAverage,
			MaxAllowedValidators: s.MaxValidators, StakeThreshold: s.StakeThreshold,
			Yuma3: s.Yuma3, LiquidAlpha: s.LiquidAlpha, AlphaLow: s.AlphaLow, AlphaHigh: s.AlphaHigh,
			AlphaSigmoidSteepness: s.AlphaSteepness,
		},
		Stake: st.stake, Permit: st.permit, OwnerUID: owner,
		LastUpdate: u64s(st.lastUpdate), RegisteredAt: u64s(st.registered),
		Weights: st.weights, Bonds: st.bonds,
		Emission: s.EmissionPerBlock * (uint64(s.Tempo) + 1),
	}
	if s.commitReveal() {
		if in.CommitBlocks, err = commitBlocks(ctx, tx, s.NetUID, st.hotkeys); err != nil {
			return err
		}
	}
	out := runEpoch(in)
	for i := 0; i < n; i++ {
		_, err := tx.ExecContext(ctx, `UPDATE neurons SET active = ?, stake_weight = ?, rank = ?, trust = ?,
			consensus = ?, incentive = ?, dividends = ?, pruning_score = ?, validator_trust = ?,
			validator_permit = ?, emission = ? WHERE netuid = ? AND uid = ?`,
			out.Active[i], out.StakeWeight[i], out.Rank[i], out.Trust[i], out.Consensus[i],
			out.Incentive[i], out.Dividends[i], out.PruningScore[i], out.ValidatorTrust[i],
			out.Permit[i], int64(out.Emission[i]), s.NetUID, i)
		if err != nil {
			return fmt.Errorf("store epoch: %w", err)
		}
		if out.Permit[i] || st.permit[i] { // bonds rows that runEpoch rewrote
			if _, err := tx.ExecContext(ctx, `DELETE FROM bonds WHERE netuid = ? AND uid = ?`, s.NetUID, i); err != nil {
				return fmt.Errorf("store epoch: %w", err)
			}
			for k, p := range out.Bonds[i] {
				if _, err := tx.ExecContext(ctx, `INSERT INTO bonds (netuid, uid, pos, dest, bond) VALUES (?, ?, ?, ?, ?)`,
					s.NetUID, i, k, p.UID, p.Value); err != nil {
					return fmt.Errorf("store epoch: %w", err)
				}
			}
		}
	}
	c.log.Debug("epoch", "netuid", s.NetUID, "block", b, "n", n)
	return nil
}

// commitBlocks is each uid's earliest pending weight commit's block (math.MaxUint64: none).
// The epoch runs after its block's reveals, so every pending commit is unexpired, as
// subtensor's epoch requires of the commits it masks with.
func commitBlocks(ctx context.Context, q querier, netuid uint16, hotkeys []string) ([]uint64, error) {
	out := make([]uint64, len(hotkeys))
	uid := make(map[string]int, len(hotkeys))
	for i, hk := range hotkeys {
		out[i] = math.MaxUint64
		uid[hk] = i
	}
	rows, err := q.QueryContext(ctx, `SELECT hotkey, min(commit_block) FROM weight_commits
		WHERE status = 'pending' AND netuid = ? GROUP BY hotkey`, netuid)
	if err != nil {
		return nil, fmt.Errorf("load commit blocks: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var hk string
		var b int64
		if err := rows.Scan(&hk, &b); err != nil {
			return nil, fmt.Errorf("load commit blocks: %w", err)
		}
		if i, ok := uid[hk]; ok {
			out[i] = uint64(max(b, 0))
		}
	}
	return out, rows.Err()
}

func u64s(x []int64) []uint64 {
	out := make([]uint64, len(x))
	for i, v := range x {
		out[i] = uint64(max(v, 0))
	}
	return out
}

// Metagraph returns subnet netuid's neurons as of the head block, from one snapshot.
func (c *Chain) Metagraph(ctx context.Context, netuid uint16) (*chain.Metagraph, error) {
	ctx, cancel := c.timeout(ctx)
	defer cancel()
	if err := c.sync(ctx); err != nil {
		return nil, err
	}
	var m *chain.Metagraph
	err := c.read(ctx, func(tx *sql.Tx) error {
		if _, err := loadSubnet(ctx, tx, netuid); err != nil {
			return err
		}
		head, err := getMetaInt(ctx, tx, metaHead)
		if err != nil {
			return err
		}
		st, err := loadState(ctx, tx, netuid)
		if err != nil {
			return err
		}
		n := len(st.hotkeys)
		m = &chain.Metagraph{
			NetUID: netuid, Block: chain.Block(head), N: n,
			Hotkeys: st.hotkeys, Coldkeys: st.coldkeys, ValidatorPermit: st.permit,
			Stake: make([]float64, n), Trust: props(st.trust), ValidatorTrust: props(st.vtrust),
			Consensus: props(st.consensus), Incentive: props(st.incentive), Dividends: props(st.divs),
			Emission: make([]float64, n), LastUpdate: make([]chain.Block, n),
			Weights: make([][]chain.WeightEntry, n),
		}
		for i := 0; i < n; i++ {
			m.Stake[i] = float64(st.stake[i]) / 1e9
			m.Emission[i] = float64(st.emission[i]) / 1e9
			m.LastUpdate[i] = chain.Block(st.lastUpdate[i])
			m.Weights[i] = make([]chain.WeightEntry, len(st.weights[i]))
			for k, p := range st.weights[i] {
				m.Weights[i][k] = chain.WeightEntry{UID: chain.UID(p.UID), Weight: p.Value}
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("metagraph %d: %w", netuid, err)
	}
	return m, nil
}

// props turns stored u16 proportions into floats (x/65535), as bittensor's metagraph does.
func props(x []uint16) []float64 {
	out := make([]float64, len(x))
	for i, v := range x {
		out[i] = float64(v) / 65535
	}
	return out
}
