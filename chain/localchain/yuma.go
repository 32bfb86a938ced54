package localchain

import (
	"math"
	"math/bits"
	"sort"
)

// This file is Yuma Consensus as subtensor's sparse `epoch` computes it
// (pallets/subtensor/src/epoch/run_epoch.rs and epoch/math.rs of opentensor/subtensor, the
// 2025-2026 dTAO versions read for this port; the test vectors come from 14bc6f9, spec 425),
// in subtensor's I32F32 fixed point: the original Yuma bonds here, Yuma3 and liquid alpha in
// yuma3.go. Departures, all because the local chain has no such state: stake is one number
// per hotkey (no alpha/TAO split, no tao_weight); no sub-mechanisms; no bonds reset. Emission per epoch is a subnet setting, split between
// incentive and dividends as the epoch splits it (no owner cut, no dTAO coinbase). It is a
// pure function: no clock, no I/O.

// pair is one (uid, value) entry of a sparse u16 row, as stored in Weights and Bonds.
type pair struct {
	UID   uint16
	Value uint16
}

// fpair is one entry of a sparse I32F32 row.
type fpair struct {
	j uint16
	v fix
}

// epochParams are the subnet hyperparameters an epoch reads.
type epochParams struct {
	Tempo                uint16
	ActivityCutoff       uint64
	Kappa                uint16 // majority ratio × 65535
	BondsPenalty         uint16 // × 65535
	BondsMovingAverage   uint64 // × 1e6
	MaxAllowedValidators uint16
	StakeThreshold       uint64 // rao; lower stakes count as zero

	// Yuma3 keeps bonds as absolute proportions and pays dividends by bonds × active stake
	// (Yuma3On); LiquidAlpha makes the bonds' EMA rate a sigmoid per (validator, miner)
	// between AlphaLow and AlphaHigh (× 65535) with AlphaSigmoidSteepness (LiquidAlphaOn).
	Yuma3                 bool
	LiquidAlpha           bool
	AlphaLow, AlphaHigh   uint16
	AlphaSigmoidSteepness int16
}

// epochInput is one subnet's state at the block an epoch runs. Slices are indexed by uid
// and have length n.
type epochInput struct {
	Block        uint64
	Params       epochParams
	Stake        []uint64 // rao
	LastUpdate   []uint64
	RegisteredAt []uint64
	Permit       []bool // validator permits from the previous epoch
	OwnerUID     int    // the subnet owner's uid, whose self-weight is kept; -1 if none
	Weights      [][]pair
	Bonds        [][]pair
	Emission     uint64 // rao to distribute this epoch
	// CommitBlocks, on a subnet with commit-reveal, is each uid's earliest unrevealed weight
	// commit's block (math.MaxUint64: none); nil otherwise.
	CommitBlocks []uint64
}

// epochOutput is what an epoch writes back (subtensor's "value storage" step).
type epochOutput struct {
	Active                                             []bool
	StakeWeight, Rank, Trust, Consensus, Incentive     []uint16
	Dividends, ValidatorTrust, PruningScore            []uint16
	Emission, ServerEmission, ValidatorEmission        []uint64
	Permit                                             []bool // new validator permits
	Bonds                                              [][]pair
	consensusFix, incentiveFix, dividendsFix, emitNorm []fix // for tests
}

func runEpoch(in *epochInput) *epochOutput {
	n := len(in.Stake)
	p := in.Params
	out := &epochOutput{}

	// == Active & updated ==
	inactive := make([]bool, n)
	out.Active = make([]bool, n)
	for i, u := range in.LastUpdate {
		inactive[i] = satAdd(u, p.ActivityCutoff) < in.Block
		out.Active[i] = !inactive[i]
	}

	// == Stake == (I64F64 normalize, then to I32F32: floor(s·2^32 / Σs))
	stake := normalizeStake(in.Stake, p.StakeThreshold)

	// == Validator permits ==
	forbid := make([]bool, n)
	for i := range forbid {
		forbid[i] = !in.Permit[i]
	}
	out.Permit = isTopKNonzero(stake, int(p.MaxAllowedValidators))

	// == Active stake ==
	active := append([]fix(nil), stake...)
	for i := range active {
		if inactive[i] || forbid[i] {
			active[i] = 0
		}
	}
	normalize(active)

	// == Weights ==
	w := make([][]fpair, n)
	for i, row := range in.Weights {
		if i >= n || forbid[i] {
			continue
		}
		for _, e := range row {
			j := int(e.UID)
			if j >= n {
				continue
			}
			if j == i && i != in.OwnerUID { // self-weight masked, except the owner's
				continue
			}
			if in.LastUpdate[i] <= in.RegisteredAt[j] { // set before j registered
				continue
			}
			// Commit-reveal's column mask: a commit made before j registered cannot carry a
			// weight for j, however recent the LastUpdate the commit gave i.
			if in.CommitBlocks != nil && in.CommitBlocks[i] < in.RegisteredAt[j] {
				continue
			}
			w[i] = append(w[i], fpair{e.UID, fixFromInt(int64(e.Value))})
		}
	}
	rowNormalize(w)

	// == Consensus, validator trust ==
	preranks := matmulSparse(w, active, n)
	kappa := fixFromInt(int64(p.Kappa)).div(fixFromInt(math.MaxUint16))
	consensus := weightedMedianColSparse(active, w, n, kappa)
	clipped := colClipSparse(w, consensus)
	vtrust := rowSumSparse(clipped)

	// == Ranks, trust, incentive ==
	ranks := matmulSparse(clipped, active, n)
	trust := vecDiv(ranks, preranks)
	normalize(ranks)
	incentive := append([]fix(nil), ranks...)

	// == Bonds and dividends (original Yuma) ==
	penalty := fixFromInt(int64(p.BondsPenalty)).div(fixFromInt(math.MaxUint16))
	wb := interpolateSparse(w, clipped, n, penalty)

	var ema [][]fpair
	var dividends []fix
	if p.Yuma3 {
		ema, dividends = yuma3Bonds(p, in, wb, consensus, incentive, active, n)
	} else {
		ema, dividends = yumaBonds(p, in, wb, incentive, active, n)
	}

	// == Emission and pruning scores ==
	combined := make([]fix, n)
	for i := range combined {
		combined[i] = incentive[i].add(dividends[i])
	}
	emissionSum := sum(combined)
	serverNorm := append([]fix(nil), incentive...)
	validatorNorm := append([]fix(nil), dividends...)
	combinedNorm := append([]fix(nil), combined...)
	normalizeUsingSum(serverNorm, emissionSum)
	normalizeUsingSum(validatorNorm, emissionSum)
	normalize(combinedNorm)
	if emissionSum == 0 { // no weights, outdated weights or only self-weights
		src := active
		if sum(active) == 0 {
			src = stake
		}
		validatorNorm = append([]fix(nil), src...)
		combinedNorm = append([]fix(nil), src...)
	}
	out.ServerEmission = raoShares(serverNorm, in.Emission)
	out.ValidatorEmission = raoShares(validatorNorm, in.Emission)
	out.Emission = raoShares(combinedNorm, in.Emission)

	// == Value storage ==
	out.StakeWeight = toU16Proportions(stake)
	out.Rank = toU16Proportions(ranks)
	out.Trust = toU16Proportions(trust)
	out.Consensus = toU16Proportions(consensus)
	out.Incentive = toU16Proportions(incentive)
	out.Dividends = toU16Proportions(dividends)
	out.PruningScore = maxUpscaleToU16(combinedNorm)
	out.ValidatorTrust = toU16Proportions(vtrust)
	out.Bonds = make([][]pair, n)
	for i := range out.Bonds {
		switch {
		case out.Permit[i]: // set bonds while the uid keeps a permit
			out.Bonds[i] = make([]pair, 0, len(ema[i]))
			for _, e := range ema[i] {
				out.Bonds[i] = append(out.Bonds[i], pair{e.j, e.v.toU16Proportion()})
			}
		case in.Permit[i]: // permit lost: clear
			out.Bonds[i] = []pair{}
		case i < len(in.Bonds):
			out.Bonds[i] = in.Bonds[i]
		}
	}
	out.consensusFix, out.incentiveFix, out.dividendsFix, out.emitNorm = consensus, incentive, dividends, combinedNorm
	return out
}

// yumaBonds is the original Yuma branch (Yuma3 off): bonds column-normalized, the EMA of
// ΔB = W∘S, dividends = B·I, and bonds stored column max-upscaled.
func yumaBonds(p epochParams, in *epochInput, wb [][]fpair, incentive, active []fix, n int) ([][]fpair, []fix) {
	bonds := make([][]fpair, n)
	lastTempo := satSub(in.Block, uint64(p.Tempo))
	for i, row := range in.Bonds {
		if i >= n {
			continue
		}
		for _, e := range row {
			j := int(e.UID)
			if j >= n || lastTempo <= in.RegisteredAt[j] { // column registered since last tempo
				continue
			}
			bonds[i] = append(bonds[i], fpair{e.UID, fixFromInt(int64(e.Value))})
		}
	}
	colNormalizeSparse(bonds, n)
	delta := rowHadamardSparse(wb, active)
	colNormalizeSparse(delta, n)
	ema := matEMASparse(delta, bonds, emaAlpha(p.BondsMovingAverage))
	colNormalizeSparse(ema, n)
	dividends := matmulTransposeSparse(ema, incentive)
	normalize(dividends)
	colMaxUpscaleSparse(ema, n)

	return ema, dividends
}

func satAdd(a, b uint64) uint64 {
	s, c := bits.Add64(a, b, 0)
	if c != 0 {
		return math.MaxUint64
	}
	return s
}

func satSub(a, b uint64) uint64 {
	if b > a {
		return 0
	}
	return a - b
}

// normalizeStake is get_stake_weights_for_network's total stake after the threshold filter,
// inplace_normalize_64 and vec_fixed64_to_fixed32. Callers bound Σstake below 2^62, so the
// I64F64 sum cannot overflow.
func normalizeStake(stake []uint64, threshold uint64) []fix {
	out := make([]fix, len(stake))
	var total uint64
	for _, s := range stake {
		if s >= threshold {
			total += s
		}
	}
	if total == 0 {
		return out
	}
	for i, s := range stake {
		if s < threshold || s == 0 {
			continue
		}
		// floor(floor(s·2^64/total) / 2^32) = floor(s·2^32/total); s <= total, so no overflow.
		q, _ := bits.Div64(s>>32, s<<32, total)
		out[i] = fix(q)
	}
	return out
}

// emaAlpha is 1 − I32F32(I64F64(bonds_moving_average) / 1e6).
func emaAlpha(bma uint64) fix {
	if bma >= 1_000_000 {
		hi, lo := bits.Mul64(bma, 1<<32)
		if hi >= 1_000_000 {
			return fixOne.sub(math.MaxInt64)
		}
		q, _ := bits.Div64(hi, lo, 1_000_000)
		if q > math.MaxInt64 {
			return fixOne.sub(math.MaxInt64)
		}
		return fixOne.sub(fix(q))
	}
	q, _ := bits.Div64(bma>>32, bma<<32, 1_000_000)
	return fixOne.sub(fix(q))
}

// isTopKNonzero is is_topk_nonzero: true for non-zero entries among the k largest (ties
// resolved by a stable ascending sort, so lower uids lose).
func isTopKNonzero(v []fix, k int) []bool {
	n := len(v)
	res := make([]bool, n)
	for i, x := range v {
		res[i] = x != 0
	}
	if n < k {
		return res
	}
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return v[idx[a]] < v[idx[b]] })
	for _, i := range idx[:n-k] {
		res[i] = false
	}
	return res
}

func normalize(x []fix) {
	s := sum(x)
	if s == 0 {
		return
	}
	for i := range x {
		x[i] = x[i].div(s)
	}
}

func normalizeUsingSum(x []fix, s fix) {
	if s == 0 {
		return
	}
	for i := range x {
		x[i] = x[i].div(s)
	}
}

func rowNormalize(m [][]fpair) {
	for _, row := range m {
		var s fix
		for _, e := range row {
			s += e.v
		}
		if s > 0 {
			for k := range row {
				row[k].v = row[k].v.div(s)
			}
		}
	}
}

func rowSumSparse(m [][]fpair) []fix {
	out := make([]fix, len(m))
	for i, row := range m {
		for _, e := range row {
			out[i] += e.v
		}
	}
	return out
}

func colNormalizeSparse(m [][]fpair, n int) {
	cs := make([]fix, n)
	for _, row := range m {
		for _, e := range row {
			cs[e.j] = cs[e.j].add(e.v)
		}
	}
	for _, row := range m {
		for k, e := range row {
			if cs[e.j] != 0 {
				row[k].v = e.v.div(cs[e.j])
			}
		}
	}
}

func colMaxUpscaleSparse(m [][]fpair, n int) {
	cm := make([]fix, n)
	for _, row := range m {
		for _, e := range row {
			if cm[e.j] < e.v {
				cm[e.j] = e.v
			}
		}
	}
	for _, row := range m {
		for k, e := range row {
			if cm[e.j] != 0 {
				row[k].v = e.v.div(cm[e.j])
			}
		}
	}
}

// matmulSparse: result_j = Σ_i vector_i · m_ij.
func matmulSparse(m [][]fpair, vec []fix, n int) []fix {
	out := make([]fix, n)
	for i, row := range m {
		for _, e := range row {
			out[e.j] = out[e.j].add(vec[i].mul(e.v))
		}
	}
	return out
}

// matmulTransposeSparse: result_i = Σ_j vector_j · m_ij.
func matmulTransposeSparse(m [][]fpair, vec []fix) []fix {
	out := make([]fix, len(m))
	for i, row := range m {
		for _, e := range row {
			out[i] = out[i].add(vec[e.j].mul(e.v))
		}
	}
	return out
}

func vecDiv(x, y []fix) []fix {
	out := make([]fix, len(x))
	for i := range x {
		if y[i] != 0 {
			out[i] = x[i].div(y[i])
		}
	}
	return out
}

func colClipSparse(m [][]fpair, c []fix) [][]fpair {
	out := make([][]fpair, len(m))
	for i, row := range m {
		for _, e := range row {
			if c[e.j] < e.v {
				if 0 < c[e.j] {
					out[i] = append(out[i], fpair{e.j, c[e.j]})
				}
			} else {
				out[i] = append(out[i], e)
			}
		}
	}
	return out
}

func interpolateSparse(a, b [][]fpair, n int, ratio fix) [][]fpair {
	if ratio == 0 {
		return cloneSparse(a)
	}
	if ratio == fixOne {
		return cloneSparse(b)
	}
	out := make([][]fpair, len(a))
	r1, r2 := make([]fix, n), make([]fix, n)
	for i := range a {
		clear(r1)
		clear(r2)
		for _, e := range a[i] {
			r1[e.j] = e.v
		}
		for _, e := range b[i] {
			r2[e.j] = e.v
		}
		for j := 0; j < n; j++ {
			v := r1[j].add(ratio.mul(r2[j].sub(r1[j])))
			if 0 < v {
				out[i] = append(out[i], fpair{uint16(j), v})
			}
		}
	}
	return out
}

func cloneSparse(m [][]fpair) [][]fpair {
	out := make([][]fpair, len(m))
	for i, row := range m {
		out[i] = append([]fpair(nil), row...)
	}
	return out
}

func rowHadamardSparse(m [][]fpair, vec []fix) [][]fpair {
	out := make([][]fpair, len(m))
	for i, row := range m {
		for _, e := range row {
			out[i] = append(out[i], fpair{e.j, e.v.mul(vec[i])})
		}
	}
	return out
}

// matEMASparse is mat_ema_sparse: alpha·new + (1−alpha)·old, keeping positive entries in
// column order.
func matEMASparse(newM, old [][]fpair, alpha fix) [][]fpair {
	n := len(newM)
	oneMinus := fixOne.sub(alpha)
	out := make([][]fpair, n)
	row := make([]fix, n)
	for i := 0; i < n; i++ {
		clear(row)
		for _, e := range newM[i] {
			row[e.j] = row[e.j].add(alpha.mul(e.v))
		}
		for _, e := range old[i] {
			row[e.j] = row[e.j].add(oneMinus.mul(e.v))
		}
		for j, v := range row {
			if v > 0 {
				out[i] = append(out[i], fpair{uint16(j), v})
			}
		}
	}
	return out
}

// weightedMedianColSparse is weighted_median_col_sparse: per column, the κ-quantile of the
// validators' weights weighted by active stake.
func weightedMedianColSparse(stake []fix, score [][]fpair, n int, majority fix) []fix {
	var use []fix
	for _, s := range stake {
		if s > 0 {
			use = append(use, s)
		}
	}
	normalize(use)
	stakeSum := sum(use)
	idx := make([]int, len(use))
	for i := range idx {
		idx[i] = i
	}
	minority := stakeSum.sub(majority)
	cols := make([][]fix, n)
	for c := range cols {
		cols[c] = make([]fix, len(use))
	}
	k := 0
	for r := range stake {
		if stake[r] <= 0 {
			continue
		}
		for _, e := range score[r] {
			cols[e.j][k] = e.v
		}
		k++
	}
	med := make([]fix, n)
	for c := range med {
		med[c] = weightedMedian(use, cols[c], idx, minority, 0, stakeSum)
	}
	return med
}

// weightedMedian is subtensor's deterministic mid-pivot search for the stake-weighted
// quantile.
func weightedMedian(stake, score []fix, part []int, minority, lo, hi fix) fix {
	for {
		n := len(part)
		if n == 0 {
			return 0
		}
		if n == 1 {
			return score[part[0]]
		}
		pivot := score[part[n/2]]
		var loStake, hiStake fix
		var lower, upper []int
		for _, i := range part {
			switch {
			case score[i] == pivot:
			case score[i] < pivot:
				loStake = loStake.add(stake[i])
				lower = append(lower, i)
			default:
				hiStake = hiStake.add(stake[i])
				upper = append(upper, i)
			}
		}
		switch {
		case lo.add(loStake) <= minority && minority < hi.sub(hiStake):
			return pivot
		case minority < lo.add(loStake) && len(lower) > 0:
			part, hi = lower, lo.add(loStake)
		case hi.sub(hiStake) <= minority && len(upper) > 0:
			part, lo = upper, hi.sub(hiStake)
		default:
			return pivot
		}
	}
}

// raoShares is I96F32(x) · I96F32(rao), floored to u64 (saturating).
func raoShares(x []fix, rao uint64) []uint64 {
	out := make([]uint64, len(x))
	for i, v := range x {
		if v <= 0 {
			continue
		}
		hi, lo := bits.Mul64(uint64(v), rao)
		if hi>>32 != 0 {
			out[i] = math.MaxUint64
			continue
		}
		out[i] = hi<<32 | lo>>32
	}
	return out
}

func toU16Proportions(x []fix) []uint16 {
	out := make([]uint16, len(x))
	for i, v := range x {
		out[i] = v.toU16Proportion()
	}
	return out
}

// maxUpscaleToU16 is vec_max_upscale_to_u16.
func maxUpscaleToU16(x []fix) []uint16 {
	out := make([]uint16, len(x))
	if len(x) == 0 {
		return out
	}
	u16max := fixFromInt(math.MaxUint16)
	threshold := fixFromInt(32768)
	m := x[0]
	for _, v := range x {
		if v > m {
			m = v
		}
	}
	for i, v := range x {
		switch {
		case m == 0:
			out[i] = v.mul(u16max).toU16()
		case m > threshold:
			out[i] = v.mul(u16max.div(m)).round().toU16()
		default:
			out[i] = v.mul(u16max).div(m).round().toU16()
		}
	}
	return out
}
