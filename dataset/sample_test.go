package dataset

import (
	"context"
	"encoding/json"
	"errors"
	"math/big"
	"os"
	"slices"
	"testing"

	"github.com/pretrain/pretrain/chain"
	"github.com/pretrain/pretrain/pyrand"
)

// pages.json is written by testdata/gen_pages.py with CPython 3.11's random module.
type pagesFile struct {
	Sizes  map[string][]SizeSplit `json:"sizes"`
	Simple []struct {
		BlockHash string  `json:"block_hash"`
		Loader    string  `json:"loader"`
		NumPages  int     `json:"num_pages"`
		Pages     []int64 `json:"pages"`
	} `json:"simple"`
	FineWeb []struct {
		BlockHash     string  `json:"block_hash"`
		Size          string  `json:"size"`
		NumPages      int     `json:"num_pages"`
		InitialOffset int64   `json:"initial_offset"`
		Pages         [][]any `json:"pages"`
	} `json:"fineweb"`
}

func loadPages(t *testing.T) pagesFile {
	t.Helper()
	data, err := os.ReadFile("testdata/pages.json")
	if err != nil {
		t.Fatal(err)
	}
	var pf pagesFile
	if err := json.Unmarshal(data, &pf); err != nil {
		t.Fatal(err)
	}
	return pf
}

func TestSimplePagesMatchCPython(t *testing.T) {
	pf := loadPages(t)
	if len(pf.Simple) == 0 {
		t.Fatal("no vectors")
	}
	for _, v := range pf.Simple {
		spec, err := SpecByName(v.Loader)
		if err != nil {
			t.Fatal(err)
		}
		got, err := PlanPages(t.Context(), nil, spec, SeedFromBlockHash(v.BlockHash), v.NumPages)
		if err != nil {
			t.Fatal(err)
		}
		offsets := make([]int64, len(got))
		for i, p := range got {
			offsets[i] = p.Offset
			if p.Config != spec.Config || p.Split != spec.Split {
				t.Errorf("%s page %d = %+v, want config %s split %s", v.Loader, i, p, spec.Config, spec.Split)
			}
		}
		if !slices.Equal(offsets, v.Pages) {
			t.Errorf("%s %s x%d: pages %v, want %v", v.Loader, v.BlockHash[:10], v.NumPages, offsets, v.Pages)
		}
	}
}

// fixedSize serves a fixed /size answer and no rows.
type fixedSize struct{ size *Size }

func (s fixedSize) Rows(context.Context, RowsRequest) (*RowsPage, error) {
	return nil, errors.New("no rows")
}
func (s fixedSize) Size(context.Context, string) (*Size, error) { return s.size, nil }

func TestFineWebPagesMatchCPython(t *testing.T) {
	pf := loadPages(t)
	if len(pf.FineWeb) == 0 {
		t.Fatal("no vectors")
	}
	for _, v := range pf.FineWeb {
		size := &Size{Splits: pf.Sizes[v.Size]}
		configs := FineWebConfigs(size)
		rng := pyrand.New(SeedFromBlockHash(v.BlockHash))
		if got := FineWebInitialOffset(rng); got != v.InitialOffset {
			t.Fatalf("%s %s: initial offset %d, want %d", v.Size, v.BlockHash[:10], got, v.InitialOffset)
		}
		got, err := PlanPages(t.Context(), fixedSize{size}, mustSpec(t, "fineweb-edu2"), SeedFromBlockHash(v.BlockHash), v.NumPages)
		if err != nil {
			t.Fatal(err)
		}
		want := make([]Page, len(v.Pages))
		for i, p := range v.Pages {
			want[i] = Page{Config: p[0].(string), Offset: int64(p[1].(float64)), Split: p[2].(string)}
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s %s x%d: pages\n%v, want\n%v (configs %v)", v.Size, v.BlockHash[:10], v.NumPages, got, want, configs)
		}
	}
}

// The page-offset cases of the reference's tests/pretrain/test_dataset.py, which use
// 100 rows per page: every start the draw can produce, and no other.
func TestFineWebPageOffsetsReferenceTests(t *testing.T) {
	tests := []struct {
		name    string
		numRows int64
		initial int64
		want    []int64
	}{
		{"599 rows", 599, 0, []int64{0, 100, 200, 300, 400, 500}},
		{"598 rows", 598, 0, []int64{0, 100, 200, 300, 400}},
		{"offset 50, 599 rows", 599, 50, []int64{50, 150, 250, 350, 450}},
		{"offset 50, 548 rows", 548, 50, []int64{50, 150, 250, 350}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rng := pyrand.NewInt64(7)
			seen := map[int64]bool{}
			configs := []FineWebConfig{{Config: "c", NumRows: tt.numRows, Split: "train"}}
			for range 2000 {
				p, err := fineWebPage(rng, configs, tt.initial, 100)
				if err != nil {
					t.Fatal(err)
				}
				seen[p.Offset] = true
			}
			var got []int64
			for o := range seen {
				got = append(got, o)
			}
			slices.Sort(got)
			if !slices.Equal(got, tt.want) {
				t.Errorf("starts = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestFineWebConfigsDictSemantics(t *testing.T) {
	got := FineWebConfigs(&Size{Splits: []SizeSplit{
		{Config: "A", Split: "train", NumRows: 1},
		{Config: "default", Split: "train", NumRows: 99},
		{Config: "B", Split: "train", NumRows: 2},
		{Config: "A", Split: "test", NumRows: 3},
	}})
	want := []FineWebConfig{{"A", 3, "test"}, {"B", 2, "train"}}
	if !slices.Equal(got, want) {
		t.Errorf("FineWebConfigs = %v, want %v", got, want)
	}
}

func TestFineWebPageErrors(t *testing.T) {
	rng := pyrand.NewInt64(1)
	if _, err := FineWebRandomPage(rng, nil, 0); err == nil {
		t.Error("no configs: want error (IndexError in the reference)")
	}
	if _, err := FineWebRandomPage(rng, []FineWebConfig{{"c", 20, "train"}}, 30); err == nil {
		t.Error("config smaller than the offset: want error (empty randint range)")
	}
	if _, err := FineWebRandomPage(rng, []FineWebConfig{{"c", -1 << 62, "train"}}, 0); err == nil {
		t.Error("negative num_rows: want error")
	}
}

func TestFloorDiv(t *testing.T) {
	for _, c := range []struct{ a, b, want int64 }{{7, 50, 0}, {-4, 50, -1}, {-50, 50, -1}, {-51, 50, -2}, {100, 50, 2}, {0, 50, 0}} {
		if got := floorDiv(c.a, c.b); got != c.want {
			t.Errorf("floorDiv(%d, %d) = %d, want %d", c.a, c.b, got, c.want)
		}
	}
}

func TestSeedFromBlockHash(t *testing.T) {
	// The seed of the block-1 hash of the reference's tests, as CPython 3.11 computes it
	// (asserted by pyrand/testdata/gen_vectors.py).
	got := SeedFromBlockHash("0xa97f42f48fddd14f4c7443b46f9961a227c9a699e60f74dd08346713ba5dcd4c")
	want, _ := new(big.Int).SetString("8ab716a6e220141ac8fee75afd4e254c9e3a8c8befffb4e8920926dd0ece74d4", 16)
	if got.Cmp(want) != 0 {
		t.Errorf("SeedFromBlockHash = %x, want %x", got, want)
	}
	for _, c := range []struct{ cur, want chain.Block }{{0, 0}, {149, 0}, {150, 150}, {5177981, 5177850}} {
		if got := SyncBlock(c.cur); got != c.want {
			t.Errorf("SyncBlock(%d) = %d, want %d", c.cur, got, c.want)
		}
	}
}

func TestSpecByName(t *testing.T) {
	for _, name := range []string{"falcon", "1", "tiiuae/falcon-refinedweb", "stack-v2", "fineweb-edu2"} {
		if _, err := SpecByName(name); err != nil {
			t.Errorf("SpecByName(%q): %v", name, err)
		}
	}
	for _, name := range []string{"", "nope", "HuggingFaceTB/finemath"} {
		if _, err := SpecByName(name); err == nil {
			t.Errorf("SpecByName(%q): want error", name)
		}
	}
}

func mustSpec(t *testing.T, name string) Spec {
	t.Helper()
	s, err := SpecByName(name)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
