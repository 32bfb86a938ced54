package dataset

import (
	"encoding/json"
	"math/big"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestPackSmall(t *testing.T) {
	const eos = 9
	buf := []int32{1, 2, 3, eos, 4, eos, 5, 6, 7, 8, 1, eos, 2, eos}
	tests := []struct {
		name     string
		bs, L    int
		unpacked bool
		want     []Batch
	}{
		{"packed L4", 1, 4, false, []Batch{{{1, 2, 3, eos}}, {{4, eos, 5, 6}}, {{7, 8, 1, eos}}}},
		{"packed L4 bs2 drops partial batch", 2, 4, false, []Batch{{{1, 2, 3, eos}, {4, eos, 5, 6}}}},
		{"packed L5", 1, 5, false, []Batch{{{1, 2, 3, eos, 4}}, {{eos, 5, 6, 7, 8}}}},
		// unpacked: [1 2 3 eos] [4 eos eos eos] [5 6 7 8] (multiple of L: no EOS) [1 eos eos eos] [2 eos eos eos]
		{"unpacked L4", 1, 4, true, []Batch{{{1, 2, 3, eos}}, {{4, eos, eos, eos}}, {{5, 6, 7, 8}}, {{1, eos, eos, eos}}, {{2, eos, eos, eos}}}},
		{"too short", 1, 15, false, []Batch{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Pack(buf, eos, tt.bs, tt.L, tt.unpacked)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("Pack = %v, want %v", got, tt.want)
			}
			for i := range got {
				if !slices.EqualFunc(got[i], tt.want[i], slices.Equal) {
					t.Errorf("batch %d = %v, want %v", i, got[i], tt.want[i])
				}
			}
		})
	}
	if _, err := Pack(buf, eos, 0, 4, false); err == nil {
		t.Error("batch size 0: want error")
	}
}

// Properties of packed mode: the batches are the buffer's prefix, in order, and only less
// than one batch of tokens is dropped.
func TestPackProperties(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 200 {
		var buf []int32
		for range r.IntN(30) {
			for range r.IntN(40) {
				buf = append(buf, 1+r.Int32N(100))
			}
			buf = append(buf, 0)
		}
		bs, L := 1+r.IntN(3), 1+r.IntN(20)
		got, err := Pack(buf, 0, bs, L, false)
		if err != nil {
			t.Fatal(err)
		}
		var flat []int32
		for _, b := range got {
			if len(b) != bs {
				t.Fatalf("batch of %d rows, want %d", len(b), bs)
			}
			for _, row := range b {
				if len(row) != L {
					t.Fatalf("row of %d, want %d", len(row), L)
				}
				flat = append(flat, row...)
			}
		}
		if !slices.Equal(flat, buf[:len(flat)]) || len(buf)-len(flat) >= bs*L {
			t.Fatalf("packed %d of %d tokens (bs %d, L %d)", len(flat), len(buf), bs, L)
		}
	}
}

func TestSelect(t *testing.T) {
	// CPython 3.11: Random(seed).shuffle(range(10)) = [1,0,3,5,4,7,2,9,6,8] (asserted by
	// pyrand/testdata/gen_vectors.py).
	seed := SeedFromBlockHash("0xa97f42f48fddd14f4c7443b46f9961a227c9a699e60f74dd08346713ba5dcd4c")
	in := make([]Batch, 10)
	for i := range in {
		in[i] = Batch{{int32(i)}}
	}
	got := Select(in, seed, 50)
	var ids []int32
	for _, b := range got {
		ids = append(ids, b[0][0])
	}
	if want := []int32{1, 0, 3, 5, 4, 7, 2, 9, 6, 8}; !slices.Equal(ids, want) {
		t.Errorf("Select order = %v, want %v", ids, want)
	}
	if in[0][0][0] != 0 || in[9][0][0] != 9 {
		t.Error("Select modified its input")
	}
	if n := len(Select(in, big.NewInt(3), 4)); n != 4 {
		t.Errorf("Select limit 4 returned %d", n)
	}
}

func BenchmarkPack(b *testing.B) {
	buf := make([]int32, 1<<20)
	for i := range buf {
		if i%997 == 0 {
			buf[i] = 0
		} else {
			buf[i] = int32(i)
		}
	}
	for b.Loop() {
		_, _ = Pack(buf, 0, 1, 4096, false)
	}
}

func TestWriteBatchesFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "b.json")
	in := []Batch{{{1, 2}, {3, 4}}, {{5, 6}, {7, 8}}}
	if err := WriteBatchesFile(p, in); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	var got [][]int32
	if err := json.Unmarshal(data, &got); err != nil {
		t.Fatal(err)
	}
	if want := [][]int32{{1, 2}, {3, 4}, {5, 6}, {7, 8}}; !slices.EqualFunc(got, want, slices.Equal) {
		t.Errorf("file holds %v, want %v", got, want)
	}
	if err := WriteBatchesFile(filepath.Join(t.TempDir(), "no", "dir", "x"), in); err == nil {
		t.Error("missing directory: want error")
	}
}
