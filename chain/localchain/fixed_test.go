package localchain

import (
	"math"
	"math/big"
	"testing"
)

// bigMul is floor(a·b / 2^32) over the integers, saturated: the independent definition of
// I32F32 saturating_mul.
func bigMul(a, b fix) fix {
	p := new(big.Int).Mul(big.NewInt(int64(a)), big.NewInt(int64(b)))
	q := new(big.Int).Rsh(p, 32) // Rsh on big.Int floors for negatives
	return clampBig(q, true)
}

// bigDiv is trunc(a·2^32 / b), or 0 when b is 0 or the result overflows (checked_div).
func bigDiv(a, b fix) fix {
	if b == 0 {
		return 0
	}
	p := new(big.Int).Lsh(big.NewInt(int64(a)), 32)
	q := new(big.Int).Quo(p, big.NewInt(int64(b))) // Quo truncates toward zero
	return clampBig(q, false)
}

func clampBig(q *big.Int, saturate bool) fix {
	if q.IsInt64() {
		return fix(q.Int64())
	}
	if !saturate {
		return 0
	}
	if q.Sign() < 0 {
		return math.MinInt64
	}
	return math.MaxInt64
}

func checkFixOps(t *testing.T, a, b fix) {
	if got, want := a.mul(b), bigMul(a, b); got != want {
		t.Errorf("%d.mul(%d) = %d, want %d", a, b, got, want)
	}
	if got, want := a.div(b), bigDiv(a, b); got != want {
		t.Errorf("%d.div(%d) = %d, want %d", a, b, got, want)
	}
	sum := new(big.Int).Add(big.NewInt(int64(a)), big.NewInt(int64(b)))
	if got, want := a.add(b), clampBig(sum, true); got != want {
		t.Errorf("%d.add(%d) = %d, want %d", a, b, got, want)
	}
	diff := new(big.Int).Sub(big.NewInt(int64(a)), big.NewInt(int64(b)))
	if got, want := a.sub(b), clampBig(diff, true); got != want {
		t.Errorf("%d.sub(%d) = %d, want %d", a, b, got, want)
	}
}

func TestFixOps(t *testing.T) {
	vals := []fix{0, 1, -1, fixOne, -fixOne, fixOne / 2, -fixOne / 2, 3, -3, 12345678901,
		-12345678901, math.MaxInt64, math.MinInt64, math.MaxInt64 - 1, math.MinInt64 + 1,
		fixFromInt(65535), fixFromInt(-65535), 429496730, 1 << 40, -(1 << 40)}
	for _, a := range vals {
		for _, b := range vals {
			checkFixOps(t, a, b)
		}
	}
}

func TestFixConversions(t *testing.T) {
	cases := []struct {
		name string
		got  any
		want any
	}{
		{"kappa 32767/65535 bits", int64(fixFromInt(32767).div(fixFromInt(65535))), int64(2147450879)},
		{"u16 proportion 65535", u16Proportion(65535), fixOne},
		{"toU16Proportion(1)", fixOne.toU16Proportion(), uint16(65535)},
		{"toU16Proportion(0.5)", (fixOne / 2).toU16Proportion(), uint16(32767)},
		{"round 2.5", fixFromInt(5).div(fixFromInt(2)).round(), fixFromInt(3)},
		{"round -2.5", fixFromInt(-5).div(fixFromInt(2)).round(), fixFromInt(-3)},
		{"round 2.5-ulp", (fixFromInt(5).div(fixFromInt(2)) - 1).round(), fixFromInt(2)},
		{"ema alpha 0.9", int64(emaAlpha(900_000)), int64(1<<32 - 3865470566)},
		{"toU16 negative", fix(-5).toU16(), uint16(0)},
		{"toU16 huge", fixFromInt(70000).toU16(), uint16(65535)},
	}
	for _, c := range cases {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
}

func FuzzFixOps(f *testing.F) {
	f.Add(int64(fixOne), int64(3))
	f.Add(int64(math.MinInt64), int64(-1))
	f.Fuzz(func(t *testing.T, a, b int64) { checkFixOps(t, fix(a), fix(b)) })
}
