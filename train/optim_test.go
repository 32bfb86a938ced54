package train

import (
	"encoding/json"
	"math"
	"os"
	"testing"
	"time"
)

// TestAdamWTorch replays testdata/adamw.json: torch.optim.AdamW (foreach=False) and
// clip_grad_norm_ on two tensors, one with weight decay and one without, for 20 steps.
func TestAdamWTorch(t *testing.T) {
	raw, err := os.ReadFile("testdata/adamw.json")
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		Init  [2][]float32
		Steps []struct {
			Grads  [2][]float32
			LR     float64
			Norm   float64
			Params [2][]float64
		}
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	params := []Param{{Name: "w", Data: v.Init[0], Decay: true}, {Name: "b", Data: v.Init[1]}}
	opt := NewAdamW(AdamWConfig{Beta1: 0.9, Beta2: 0.95, Eps: 1e-8, WeightDecay: 0.1}, params)
	for i, s := range v.Steps {
		params[0].Grad, params[1].Grad = s.Grads[0], s.Grads[1]
		if norm := ClipGradNorm(params, 1.0); math.Abs(norm-s.Norm) > 1e-5*s.Norm {
			t.Fatalf("step %d: grad norm = %v, want %v", i, norm, s.Norm)
		}
		if err := opt.Update(params, s.LR); err != nil {
			t.Fatal(err)
		}
		for k := range params {
			for j, want := range s.Params[k] {
				if got := float64(params[k].Data[j]); math.Abs(got-want) > 2e-6*math.Max(1, math.Abs(want)) {
					t.Fatalf("step %d: %s[%d] = %v, want %v", i, params[k].Name, j, got, want)
				}
			}
		}
	}
}

func TestAdamWRejectsMismatch(t *testing.T) {
	params := []Param{{Name: "w", Data: make([]float32, 3), Grad: make([]float32, 3)}}
	opt := NewAdamW(AdamWConfig{}, params)
	if err := opt.Update(append(params, params[0]), 1e-3); err == nil {
		t.Error("Update accepted an extra param")
	}
	if err := opt.Update([]Param{{Name: "w", Data: make([]float32, 4), Grad: make([]float32, 4)}}, 1e-3); err == nil {
		t.Error("Update accepted a resized param")
	}
}

func TestSchedule(t *testing.T) {
	s := Schedule{Peak: 1e-3, Min: 1e-4, Warmup: 10, Total: 110}
	tests := []struct {
		step int64
		want float64
	}{
		{0, 1e-4}, {4, 5e-4}, {9, 1e-3}, {10, 1e-3}, {60, 5.5e-4}, {110, 1e-4}, {1000, 1e-4},
	}
	for _, tt := range tests {
		if got := s.LR(tt.step); math.Abs(got-tt.want) > 1e-12 {
			t.Errorf("LR(%d) = %v, want %v", tt.step, got, tt.want)
		}
	}
	for step := int64(10); step < 110; step++ {
		if s.LR(step+1) > s.LR(step) {
			t.Fatalf("LR rises after warm-up at step %d", step)
		}
	}
}

// TestTimeSchedule checks the time plan at points computed by hand (peak 1e-3, floor 1e-4,
// 10 warm-up steps or a tenth of a 100 s budget): the warm-up ramp by steps and by time,
// the cosine's start, a quarter (1e-4 + 9e-4·(1+cos(π/4))/2) and middle, the floor at and
// after the budget's end.
func TestTimeSchedule(t *testing.T) {
	s := TimeSchedule{Peak: 1e-3, Min: 1e-4, Warmup: 10, WarmupShare: 0.1, Budget: 100 * time.Second}
	tests := []struct {
		step    int64
		elapsed time.Duration
		want    float64
	}{
		{0, 0, 1e-4},
		{4, time.Second, 5e-4},     // steps ramp faster than time
		{1, 5 * time.Second, 5e-4}, // time ramps faster than steps
		{1, 10 * time.Second, 1e-4 + 9e-4*(1+math.Cos(math.Pi/10))/2}, // warm-up over by time: the cosine
		{20, 0, 1e-3},
		{20, 25 * time.Second, 1e-4 + 9e-4*(1+math.Sqrt2/2)/2},
		{20, 50 * time.Second, 5.5e-4},
		{20, 100 * time.Second, 1e-4},
		{20, time.Hour, 1e-4},
		{5, 100 * time.Second, 1e-4}, // a slow warm-up still ends at the floor
		{20, -time.Second, 1e-3},
	}
	for _, tt := range tests {
		if got := s.LR(tt.step, tt.elapsed); math.Abs(got-tt.want) > 1e-7*tt.want {
			t.Errorf("LR(%d, %v) = %v, want %v", tt.step, tt.elapsed, got, tt.want)
		}
	}
	for e := time.Duration(0); e < 100*time.Second; e += time.Second {
		if s.LR(50, e+time.Second) > s.LR(50, e) {
			t.Fatalf("LR rises with elapsed time at %v", e)
		}
	}
	if got := (TimeSchedule{Peak: 1, Min: 0.5, Warmup: 1}).LR(3, time.Second); got != 0.5 {
		t.Errorf("LR with no budget = %v, want the floor", got)
	}
}
