package nn

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"testing"
)

func TestInitModelDirRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		preset, dtype string
		params        int64
	}{
		// GPT-2: wte 50257x64 + wpe 1024x64 + 2 blocks x (12·64² + 13·64) + ln_f 128.
		{"gpt2-tiny", "F32", 50257*64 + 1024*64 + 2*(12*64*64+13*64) + 128},
		// Llama tied: embed 100288x64 + 2 x (q 64·64 + k,v 2·32·64 + o 64·64 + 3·172·64 + 2·64) + norm 64.
		{"llama-tiny", "BF16", 100288*64 + 2*(64*64+2*32*64+64*64+3*172*64+2*64) + 64},
	} {
		t.Run(tc.preset, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "m")
			n, err := InitModelDir(dir, tc.preset, tc.dtype, 7)
			if err != nil {
				t.Fatal(err)
			}
			if n != tc.params {
				t.Errorf("InitModelDir params = %d, want %d", n, tc.params)
			}
			m, err := Load(dir)
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			if m.ParamCount() != tc.params {
				t.Errorf("loaded ParamCount() = %d, want %d", m.ParamCount(), tc.params)
			}
			// Random init near zero gives near-uniform predictions: loss close to log(vocab).
			loss, err := m.Loss(t.Context(), [][]int32{{1, 2, 3, 4, 5, 6, 7, 8}})
			if err != nil {
				t.Fatal(err)
			}
			if want := math.Log(float64(m.Config.VocabSize)); math.Abs(loss-want) > 0.1 {
				t.Errorf("loss of a fresh model = %v, want about log(vocab) = %v", loss, want)
			}
			// The same seed writes the same bytes.
			dir2 := filepath.Join(t.TempDir(), "m2")
			if _, err := InitModelDir(dir2, tc.preset, tc.dtype, 7); err != nil {
				t.Fatal(err)
			}
			a, _ := os.ReadFile(filepath.Join(dir, SafetensorsFile))
			b, _ := os.ReadFile(filepath.Join(dir2, SafetensorsFile))
			if !bytes.Equal(a, b) {
				t.Error("same seed wrote different weights")
			}
		})
	}
}
