package localchain

import (
	"math"
	"math/bits"
)

// fix is substrate_fixed's I32F32: a signed 64-bit integer of which the low 32 bits are the
// fraction. Subtensor computes Yuma Consensus in this type, and its rounding (products
// floored, quotients truncated toward zero) decides the stored u16 values, so the epoch uses
// it rather than float64. Semantics follow encointer/substrate-fixed (src/arith.rs mul_dir,
// div_dir) and subtensor's safe_math (safe_div = checked_div or 0).
type fix int64

const (
	fixFrac = 32
	fixOne  = fix(1) << fixFrac
)

// fixFromInt is I32F32::saturating_from_num of an integer.
func fixFromInt(v int64) fix {
	if v > math.MaxInt32 {
		return math.MaxInt64
	}
	if v < math.MinInt32 {
		return math.MinInt64
	}
	return fix(v << fixFrac)
}

// fixFromU64 is I32F32::saturating_from_num of a u64.
func fixFromU64(v uint64) fix {
	if v > math.MaxInt32 {
		return math.MaxInt64
	}
	return fix(int64(v) << fixFrac)
}

// add is saturating_add.
func (a fix) add(b fix) fix {
	s := a + b
	if (a >= 0) == (b >= 0) && (s >= 0) != (a >= 0) {
		if a >= 0 {
			return math.MaxInt64
		}
		return math.MinInt64
	}
	return s
}

// sub is saturating_sub.
func (a fix) sub(b fix) fix {
	if b == math.MinInt64 {
		if a >= 0 {
			return math.MaxInt64
		}
		return a - b
	}
	return a.add(-b)
}

// mul is saturating_mul: the signed 128-bit product shifted right by 32 (an arithmetic
// shift, so it floors), saturated to the type's range.
func (a fix) mul(b fix) fix {
	hiU, lo := bits.Mul64(uint64(a), uint64(b))
	hi := int64(hiU) // unsigned high word to signed: subtract the other operand per negative one
	if a < 0 {
		hi -= int64(b)
	}
	if b < 0 {
		hi -= int64(a)
	}
	r := int64(uint64(hi)<<(64-fixFrac) | lo>>fixFrac)
	if hi>>(fixFrac-1) != r>>63 {
		if hi < 0 {
			return math.MinInt64
		}
		return math.MaxInt64
	}
	return fix(r)
}

// div is safe_div: (a << 32) / b truncated toward zero, and 0 when b is 0 or the quotient
// overflows (checked_div(..).unwrap_or_default()).
func (a fix) div(b fix) fix {
	if b == 0 {
		return 0
	}
	ua, ub := absU(a), absU(b)
	hi, lo := ua>>(64-fixFrac), ua<<fixFrac
	if hi >= ub {
		return 0 // the quotient needs more than 64 bits
	}
	q, _ := bits.Div64(hi, lo, ub)
	if (a < 0) != (b < 0) {
		if q > 1<<63 {
			return 0
		}
		return fix(-int64(q)) // q == 1<<63 wraps to MinInt64, the right answer
	}
	if q > math.MaxInt64 {
		return 0
	}
	return fix(q)
}

func mulU(a, b uint64) (uint64, uint64) { return bits.Mul64(a, b) }

func absU(a fix) uint64 {
	if a < 0 {
		return uint64(-(a + 1)) + 1
	}
	return uint64(a)
}

// toU16 is saturating_to_num::<u16>: floor, clamped to [0, 65535].
func (a fix) toU16() uint16 {
	v := int64(a) >> fixFrac
	switch {
	case v < 0:
		return 0
	case v > math.MaxUint16:
		return math.MaxUint16
	}
	return uint16(v)
}

// round is fixed's round(): to nearest, ties away from zero (saturating).
func (a fix) round() fix {
	half := fix(1) << (fixFrac - 1)
	if a >= 0 {
		return a.add(half) &^ (fixOne - 1)
	}
	return -((-a).add(half) &^ (fixOne - 1))
}

// float returns the value as a float64 (exact: 64 bits fit a float64's range, and only
// display and tests use it).
func (a fix) float() float64 { return float64(a) / float64(fixOne) }

// u16Proportion is u16_proportion_to_fixed: x / 65535 in I32F32.
func u16Proportion(x uint16) fix { return fixFromInt(int64(x)).div(fixFromInt(math.MaxUint16)) }

// toU16Proportion is fixed_proportion_to_u16: floor(x * 65535), clamped.
func (a fix) toU16Proportion() uint16 { return a.mul(fixFromInt(math.MaxUint16)).toU16() }

// sum adds with wrapping, as Rust's Sum for fixed types in release builds; epoch inputs are
// bounded so that no sum can overflow.
func sum(xs []fix) fix {
	var s fix
	for _, x := range xs {
		s += x
	}
	return s
}
