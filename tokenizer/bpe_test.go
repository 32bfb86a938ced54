package tokenizer

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// TestScanMatchesHeap checks that the O(n²) scan used for short words gives what the
// tokenizers heap algorithm gives, on every vocab entry's bytes and on random words drawn
// from the bytes of real text, for both built-in vocabularies.
func TestScanMatchesHeap(t *testing.T) {
	for _, name := range []string{"gpt2", "Xenova/gpt-4"} {
		t.Run(name, func(t *testing.T) {
			tok := mustLoad(t, name)
			m := tok.model
			if !m.uniqueMerges {
				t.Fatalf("%s: merges not unique; the scan is never used", name)
			}
			check := func(w string) {
				t.Helper()
				scan := m.appendScan(nil, w)
				heap := m.appendHeap(nil, w)
				if !slices.Equal(scan, heap) {
					t.Fatalf("word %q: scan %v, heap %v", w, scan, heap)
				}
			}
			for _, b := range tok.decode {
				if len(b) > 1 && len(b) < scanLimit {
					check(string(b))
				}
			}
			text := []byte(fixtures(t)[0].Text + fixtures(t)[len(fixtures(t))-100].Text)
			r := rand.New(rand.NewPCG(1, 2))
			for range 20000 {
				n := 2 + r.IntN(scanLimit-2)
				start := r.IntN(len(text) - n)
				w := text[start : start+n]
				if r.IntN(2) == 0 {
					w = slices.Clone(w)
					for i := range w {
						if r.IntN(8) == 0 {
							w[i] = ' '
						}
					}
				}
				check(string(w))
			}
		})
	}
}

// TestWholeIsBPE checks the fast path: each entry of whole is what BPE makes of its bytes.
func TestWholeIsBPE(t *testing.T) {
	for _, name := range []string{"gpt2", "Xenova/gpt-4"} {
		m := mustLoad(t, name).model
		if len(m.whole) < 1000 {
			t.Errorf("%s: only %d whole-word entries", name, len(m.whole))
		}
		for w, id := range m.whole {
			if got := m.appendHeap(nil, w); !slices.Equal(got, []int32{id}) {
				t.Fatalf("%s: whole[%q] = %d, BPE gives %v", name, w, id, got)
			}
		}
	}
}
