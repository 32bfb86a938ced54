package kernels

import "math"

// Exp is a float32 exponential (Cephes expf polynomial, within about 2 ulp of the exact
// value), a few times faster than math.Exp; softmax and log-sum-exp spend most of their
// time here.
func Exp(x float32) float32 {
	switch {
	case x != x:
		return x
	case x > 88.72283:
		return float32(math.Inf(1))
	case x < -103.972:
		return 0
	}
	const (
		log2e = 1.44269504088896341
		ln2hi = 0.693359375
		ln2lo = -2.12194440e-4
	)
	fn := x*log2e + 0.5
	n := int32(fn)
	if fn < 0 && float32(n) != fn {
		n-- // floor
	}
	r := x - float32(n)*ln2hi - float32(n)*ln2lo
	p := float32(1.9875691500e-4)
	p = p*r + 1.3981999507e-3
	p = p*r + 8.3334519073e-3
	p = p*r + 4.1665795894e-2
	p = p*r + 1.6666665459e-1
	p = p*r + 5.0000001201e-1
	p = p*r*r + r + 1
	// Scale by 2^n in two steps so n down to -150 and up to 128 stay exact.
	n1 := n / 2
	n2 := n - n1
	return p * math.Float32frombits(uint32(n1+127)<<23) * math.Float32frombits(uint32(n2+127)<<23)
}

// Tanh is the float32 hyperbolic tangent through [Exp].
func Tanh(x float32) float32 {
	if x > 9 {
		return 1
	}
	if x < -9 {
		return -1
	}
	if x > -0.0625 && x < 0.0625 {
		// 1 - 2/(e^2x+1) cancels here; the series is exact to float32 precision.
		x2 := x * x
		return x * (1 + x2*(-1.0/3+x2*(2.0/15-x2*17.0/315)))
	}
	e := Exp(2 * x)
	return (e - 1) / (e + 1)
}

// GELUTanh applies transformers' gelu_new (= gelu_pytorch_tanh):
// 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))).
func GELUTanh(x []float32) { geluTanh(x) }

func geluTanhGeneric(x []float32) {
	const c = 0.7978845608028654 // sqrt(2/pi)
	for i, v := range x {
		x[i] = 0.5 * v * (1 + Tanh(c*(v+0.044715*v*v*v)))
	}
}

// GELUErf applies the exact GELU, x·Φ(x), in float64.
func GELUErf(x []float32) {
	for i, v := range x {
		x[i] = float32(0.5 * float64(v) * (1 + math.Erf(float64(v)/math.Sqrt2)))
	}
}

// ReLU applies max(x, 0).
func ReLU(x []float32) {
	for i, v := range x {
		if v < 0 {
			x[i] = 0
		}
	}
}

// SiLU applies x·sigmoid(x).
func SiLU(x []float32) { xSigmoid(x, 1, 0) }

// xSigmoidGeneric sets x = x·sigmoid(a·x + b·x³).
func xSigmoidGeneric(x []float32, a, b float32) {
	for i, v := range x {
		x[i] = v / (1 + Exp(-(a*v + b*v*v*v)))
	}
}

// SwiGLU sets gate[i] = silu(gate[i])·up[i].
func SwiGLU[F Float](gate, up []F) {
	switch g := any(gate).(type) {
	case []float32:
		SiLU(g)
	case []float64:
		for i, v := range g {
			g[i] = v / (1 + math.Exp(-v))
		}
	}
	up = up[:len(gate)]
	for i := range gate {
		gate[i] *= up[i]
	}
}

// LayerNorm writes x normalized to zero mean and unit (biased) variance, scaled by w and
// shifted by b, into y (which may be x), as torch's LayerNorm; it returns the mean and the
// reciprocal standard deviation it used, which the trainer's backward reads. Statistics are
// accumulated in float64.
func LayerNorm[F Float](y, x, w, b []F, eps float32) (mean, rstd F) {
	n := len(x)
	y, w, b = y[:n], w[:n], b[:n]
	var s float64
	for _, v := range x {
		s += float64(v)
	}
	mu := s / float64(n)
	var ss float64
	for _, v := range x {
		d := float64(v) - mu
		ss += d * d
	}
	inv := F(1 / math.Sqrt(ss/float64(n)+float64(eps)))
	m := F(mu)
	for i, v := range x {
		y[i] = (v-m)*inv*w[i] + b[i]
	}
	return m, inv
}

// RMSNorm writes x scaled by 1/sqrt(mean(x²)+eps), then by w, into y (which may be x), as
// Llama's RMSNorm does in the element type (float32: the mean square is rounded to float32
// first); it returns the reciprocal it used.
func RMSNorm[F Float](y, x, w []F, eps float32) (rstd F) {
	n := len(x)
	y, w = y[:n], w[:n]
	var ss float64
	for _, v := range x {
		ss += float64(v) * float64(v)
	}
	inv := F(1 / math.Sqrt(float64(F(ss/float64(n)))+float64(eps)))
	for i, v := range x {
		y[i] = w[i] * (v * inv)
	}
	return inv
}

// Softmax replaces x by its softmax.
func Softmax(x []float32) {
	if len(x) == 0 {
		return
	}
	m := x[0]
	for _, v := range x[1:] {
		if v > m {
			m = v
		}
	}
	inv := float32(1 / expSum(x, m))
	for i := range x {
		x[i] *= inv
	}
}

// LogSumExp returns log(Σ exp(x)) computed stably (max subtracted), summed in float64.
// A NaN anywhere gives NaN; an all -Inf row gives -Inf.
func LogSumExp(x []float32) float64 {
	m := float32(math.Inf(-1))
	for _, v := range x {
		if v != v {
			return math.NaN()
		}
		if v > m {
			m = v
		}
	}
	if math.IsInf(float64(m), 0) {
		return float64(m)
	}
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(x); i += 4 {
		s0 += Exp(x[i] - m)
		s1 += Exp(x[i+1] - m)
		s2 += Exp(x[i+2] - m)
		s3 += Exp(x[i+3] - m)
	}
	for ; i < len(x); i++ {
		s0 += Exp(x[i] - m)
	}
	return float64(m) + math.Log(float64(s0)+float64(s1)+float64(s2)+float64(s3))
}

// RoPE rotates one head vector x (len 2·len(cos)) by the rotate-half convention of
// transformers' Llama: x1' = x1·cos − x2·sin, x2' = x2·cos + x1·sin on the two halves.
func RoPE[F Float](x, cos, sin []F) {
	h := len(cos)
	x1, x2 := x[:h], x[h:2*h]
	sin = sin[:h]
	for i := range h {
		a, b := x1[i], x2[i]
		x1[i] = a*cos[i] - b*sin[i]
		x2[i] = b*cos[i] + a*sin[i]
	}
}

// AddBias adds b to each row of x (rows of len(b), contiguous).
func AddBias[F Float](x, b []F) {
	n := len(b)
	for off := 0; off+n <= len(x); off += n {
		row := x[off : off+n]
		for i := range row {
			row[i] += b[i]
		}
	}
}

// OnlineLogSumExp folds the block x into a running log-sum-exp kept as (max, sum) with
// log-sum-exp = max + log(sum), and returns the new pair. The block's exponentials are
// taken against the larger of the running and block maxima, so nothing overflows. x is
// overwritten. NaN anywhere makes the max NaN.
func OnlineLogSumExp(x []float32, runMax, runSum float64) (float64, float64) {
	if len(x) == 0 {
		return runMax, runSum
	}
	m := x[0]
	for _, v := range x {
		if v != v {
			return math.NaN(), math.NaN()
		}
		if v > m {
			m = v
		}
	}
	if runMax != runMax {
		return runMax, runSum
	}
	newMax := max(runMax, float64(m))
	if math.IsInf(newMax, -1) {
		return newMax, runSum
	}
	s := ExpSum(x, float32(newMax))
	if runSum != 0 {
		runSum *= math.Exp(runMax - newMax)
	}
	return newMax, runSum + s
}

// ExpSum sets x[i] = exp(x[i]-m) and returns the sum, accumulated in float64 per 16-lane
// partial sums.
func ExpSum(x []float32, m float32) float64 {
	return expSum(x, m)
}

func expSumGeneric(x []float32, m float32) float64 {
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(x); i += 4 {
		e0, e1, e2, e3 := Exp(x[i]-m), Exp(x[i+1]-m), Exp(x[i+2]-m), Exp(x[i+3]-m)
		x[i], x[i+1], x[i+2], x[i+3] = e0, e1, e2, e3
		s0 += e0
		s1 += e1
		s2 += e2
		s3 += e3
	}
	for ; i < len(x); i++ {
		e := Exp(x[i] - m)
		x[i] = e
		s0 += e
	}
	return float64(s0) + float64(s1) + float64(s2) + float64(s3)
}
