package localchain

import "math"

// Yuma3 bonds (subtensor's Yuma3On branch of epoch, with compute_bonds_sparse and liquid
// alpha from run_epoch.rs, and exp from substrate_fixed::transcendental).

// yuma3Bonds computes the EMA bonds (u16 proportions kept absolute, not normalized) and the
// dividends of the Yuma3 branch.
func yuma3Bonds(p epochParams, in *epochInput, wb [][]fpair, consensus, incentive, active []fix, n int) (ema [][]fpair, dividends []fix) {
	bonds := make([][]fpair, n)
	lastTempo := satSub(in.Block, uint64(p.Tempo))
	u16max := fixFromInt(math.MaxUint16)
	for i, row := range in.Bonds {
		if i >= n {
			continue
		}
		for _, e := range row {
			j := int(e.UID)
			if j >= n || lastTempo <= in.RegisteredAt[j] {
				continue
			}
			bonds[i] = append(bonds[i], fpair{e.UID, fixFromInt(int64(e.Value)).div(u16max)}) // get_bonds_sparse_fixed_proportion
		}
	}
	ema = computeBondsSparse(p, wb, bonds, consensus)
	norm := cloneSparse(ema)
	colNormalizeSparse(norm, n)
	perValidator := rowSumSparse(matVecMulSparse(norm, incentive))
	dividends = make([]fix, n)
	for i := range dividends {
		dividends[i] = checkedMulOrZero(perValidator[i], active[i]) // vec_mul: checked_mul or 0
	}
	normalize(dividends)
	return ema, dividends
}

// computeBondsSparse is compute_bonds_sparse: the EMA of bonds toward the weights, with a
// liquid alpha per (validator, miner) when liquid alpha is on and consensus is not all zero.
func computeBondsSparse(p epochParams, w, b [][]fpair, consensus []fix) [][]fpair {
	nonzero := false
	for _, c := range consensus {
		nonzero = nonzero || c != 0
	}
	if !p.LiquidAlpha || !nonzero {
		return matEMASparse(w, b, emaAlpha(p.BondsMovingAverage))
	}
	u16max := fixFromInt(math.MaxUint16)
	low := fixFromInt(int64(p.AlphaLow)).div(u16max)
	high := fixFromInt(int64(p.AlphaHigh)).div(u16max)
	steep := fixFromInt(int64(p.AlphaSigmoidSteepness))
	alphas := make([][]fix, len(w))
	for i := range w {
		// compute_liquid_alpha_values_sparse walks both rows once, assuming they are sorted
		// by column; the same walk is kept so unsorted rows behave the same.
		row := make([]fix, len(consensus))
		wi, bi := 0, 0
		for jj, c := range consensus {
			j := uint16(jj)
			var weight, bond fix
			for wi < len(w[i]) {
				if e := w[i][wi]; e.j < j {
					wi++
				} else {
					if e.j == j {
						weight = e.v
					}
					break
				}
			}
			for bi < len(b[i]) {
				if e := b[i][bi]; e.j < j {
					bi++
				} else {
					if e.j == j {
						bond = e.v
					}
					break
				}
			}
			row[jj] = alphaSigmoid(c, weight, bond, low, high, steep)
		}
		alphas[i] = row
	}
	return matEMAAlphaSparse(w, b, alphas)
}

// alphaSigmoid is alpha_sigmoid.
func alphaSigmoid(consensus, weight, bond, low, high, steep fix) fix {
	diffBuy := clampFix(weight.sub(consensus), 0, fixOne)
	diffSell := clampFix(bond.sub(weight), 0, fixOne)
	combined := diffSell
	if weight >= bond {
		combined = diffBuy
	}
	x := steep.div(fixFromInt(-100)).mul(combined.sub(fixOne / 2))
	sig := fixOne.div(fixOne.add(safeExp(x)))
	return clampFix(low.add(sig.mul(high.sub(low))), low, high)
}

func clampFix(v, lo, hi fix) fix { return max(min(v, hi), lo) }

// matEMAAlphaSparse is mat_ema_alpha_sparse. Like subtensor's, it emits only the columns
// of the new row: a bond whose column the validator no longer weights is dropped, not decayed.
func matEMAAlphaSparse(newM, old [][]fpair, alpha [][]fix) [][]fpair {
	if len(newM) != len(old) || len(newM) != len(alpha) {
		return cloneSparse(newM)
	}
	out := make([][]fpair, len(newM))
	for i := range newM {
		decayed := make([]fix, len(alpha[i]))
		for _, e := range old[i] {
			if int(e.j) < len(alpha[i]) {
				decayed[e.j] = fixOne.sub(alpha[i][e.j]).mul(e.v)
			}
		}
		for _, e := range newM[i] {
			if int(e.j) >= len(alpha[i]) {
				continue
			}
			inc := max(alpha[i][e.j].mul(e.v), 0)
			v := min(decayed[e.j].add(inc), fixOne)
			if v > 0 {
				out[i] = append(out[i], fpair{e.j, v})
			}
		}
	}
	return out
}

// matVecMulSparse is mat_vec_mul_sparse: m_ij · v_j, dropping zero products.
func matVecMulSparse(m [][]fpair, v []fix) [][]fpair {
	out := make([][]fpair, len(m))
	for i, row := range m {
		for _, e := range row {
			if int(e.j) < len(v) {
				if p := e.v.mul(v[e.j]); p != 0 {
					out[i] = append(out[i], fpair{e.j, p})
				}
			}
		}
	}
	return out
}

// checkedMul is I32F32 checked_mul: the floored product, or false on overflow.
func checkedMul(a, b fix) (fix, bool) {
	r := a.mul(b)
	if r == math.MaxInt64 || r == math.MinInt64 {
		// Saturated values are also reachable exactly; recheck with the unsaturated form.
		hi, lo := mul128(a, b)
		exact := int64(uint64(hi)<<(64-fixFrac) | lo>>fixFrac)
		if hi>>(fixFrac-1) != exact>>63 {
			return 0, false
		}
	}
	return r, true
}

func checkedMulOrZero(a, b fix) fix {
	r, ok := checkedMul(a, b)
	if !ok {
		return 0
	}
	return r
}

func mul128(a, b fix) (int64, uint64) {
	hiU, lo := mulU(uint64(a), uint64(b))
	hi := int64(hiU)
	if a < 0 {
		hi -= int64(b)
	}
	if b < 0 {
		hi -= int64(a)
	}
	return hi, lo
}

// expE is substrate_fixed's E constant: e truncated to I9F23, then widened to I32F32.
const expE = fix(22802601) << 9

// fixExp is substrate_fixed::transcendental::exp::<I32F32, I32F32>: a Taylor series of 31
// terms with checked I32F32 arithmetic; ok is false where the Rust returns Err.
func fixExp(x fix) (fix, bool) {
	if x == 0 {
		return fixOne, true
	}
	if x == fixOne {
		return expE, true
	}
	neg := x < 0
	if neg {
		x = -x
	}
	result, ok := checkedAdd(x, fixOne)
	if !ok {
		return 0, false
	}
	term := x
	for i := int64(2); i < fixFrac; i++ {
		if term, ok = checkedMul(term, x); !ok {
			return 0, false
		}
		term = term.div(fixFromInt(i)) // checked_div cannot overflow here: i >= 2
		if result, ok = checkedAdd(result, term); !ok {
			return 0, false
		}
	}
	if neg {
		if result == 0 {
			return 0, false
		}
		result = fixOne.div(result)
	}
	return result, true
}

func checkedAdd(a, b fix) (fix, bool) {
	s := a + b
	if (a >= 0) == (b >= 0) && (s >= 0) != (a >= 0) {
		return 0, false
	}
	return s, true
}

// safeExp is safe_exp: exp, or 0 where it fails.
func safeExp(x fix) fix {
	r, ok := fixExp(x)
	if !ok {
		return 0
	}
	return r
}
