package localchain

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"regexp"
	"strconv"
	"testing"
)

type yumaVectors struct {
	TestBonds struct {
		Steps []struct {
			Step             int               `json:"step"`
			AssertedBonds    map[string]uint16 `json:"asserted_bonds"`
			CommentEmission  []uint64          `json:"comment_emission"`
			CommentDividends []float64         `json:"comment_dividends"`
			CommentConsensus []float64         `json:"comment_consensus"`
		} `json:"steps"`
	} `json:"test_bonds"`
}

func loadYumaVectors(t *testing.T) yumaVectors {
	t.Helper()
	data, err := os.ReadFile("testdata/subtensor-epoch-test-vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var v yumaVectors
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

var bondKey = regexp.MustCompile(`^\[(\d+)\]\[(\d+)\]$`)

// TestYumaBonds replays subtensor's test_bonds (tests/epoch.rs): 4 validators with stake
// 1:2:3:4 weighting 4 servers, then validators switching to self-weights one by one, and
// checks the stored u16 bonds the test asserts after each epoch. The comment values of the
// test (emission, dividends; not checked by subtensor's CI) are checked too, where given.
func TestYumaBonds(t *testing.T) {
	v := loadYumaVectors(t)
	const n = 8
	full := []pair{{4, 16383}, {5, 32767}, {6, 49149}, {7, 65535}} // u16::MAX/4, /2, /4*3, MAX
	// The weights each step sets (transcribed from the vector's weights_set strings).
	type set struct {
		uid uint16
		row []pair
	}
	steps := map[int][]set{
		1: {{0, full}, {1, full}, {2, full}, {3, full}},
		2: {{0, []pair{{0, 65535}}}},
		3: {{1, []pair{{1, 65535}}}},
		4: {{2, []pair{{2, 65535}}}},
		5: {{2, []pair{{7, 65535}}}},
	}
	in := &epochInput{
		Params: epochParams{Tempo: 1, ActivityCutoff: 5000, Kappa: 32767, BondsPenalty: 65535,
			BondsMovingAverage: 900_000, MaxAllowedValidators: n},
		Stake:        []uint64{1, 2, 3, 4, 0, 0, 0, 0},
		LastUpdate:   make([]uint64, n),
		RegisteredAt: make([]uint64, n),
		Permit:       make([]bool, n),
		OwnerUID:     -1,
		Weights:      make([][]pair, n),
		Bonds:        make([][]pair, n),
		Emission:     1_000_000_000,
	}
	apply := func(out *epochOutput) {
		in.Permit = out.Permit
		in.Bonds = out.Bonds
	}
	apply(runEpoch(in)) // block 0: the first epoch only issues permits
	for _, st := range v.TestBonds.Steps {
		t.Run(fmt.Sprintf("step%d", st.Step), func(t *testing.T) {
			// Step 1 sets weights at block 1 and runs the epoch there; later steps set
			// weights, then next_block_no_epoch, so the epoch of step k runs at block k with
			// last_update k-1 (the test's traces: current_block 2, last update 1).
			setAt := uint64(st.Step)
			if st.Step > 1 {
				setAt--
			}
			for _, s := range steps[st.Step] {
				in.Weights[s.uid] = s.row
				in.LastUpdate[s.uid] = setAt
			}
			in.Block = uint64(st.Step)
			out := runEpoch(in)
			apply(out)
			if len(st.AssertedBonds) == 0 {
				t.Fatal("no asserted bonds in vector")
			}
			for key, want := range st.AssertedBonds {
				m := bondKey.FindStringSubmatch(key)
				i, _ := strconv.Atoi(m[1])
				j, _ := strconv.Atoi(m[2])
				got := bondAt(in.Bonds, i, j)
				if got != want {
					t.Errorf("bonds%s = %d, want %d", key, got, want)
				}
			}
			if st.CommentEmission != nil {
				for i, want := range st.CommentEmission {
					if got := out.Emission[i]; got != want {
						t.Errorf("emission[%d] = %d, want %d (test comment)", i, got, want)
					}
				}
			}
			for i, want := range st.CommentDividends {
				if got := out.dividendsFix[i].float(); abs(got-want) > 1e-9 {
					t.Errorf("dividends[%d] = %.10f, want %.10f (test comment)", i, got, want)
				}
			}
			for i, want := range st.CommentConsensus {
				if got := out.consensusFix[i].float(); abs(got-want) > 1e-9 {
					t.Errorf("consensus[%d] = %.10f, want %.10f (test comment)", i, got, want)
				}
			}
		})
	}
}

func bondAt(b [][]pair, i, j int) uint16 {
	for _, e := range b[i] {
		if int(e.UID) == j {
			return e.Value
		}
	}
	return 0
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}

// TestCommitRevealMask: with commit-reveal, a validator whose earliest unrevealed commit is
// older than a neuron's registration has its weight for that neuron masked (subtensor's
// vec_mask_sparse_matrix(weights, commit_blocks, block_at_registration, cb < reg)): the
// epoch equals one on the same weights without that entry; a later commit, or none, masks
// nothing.
func TestCommitRevealMask(t *testing.T) {
	base := func() *epochInput {
		return &epochInput{
			Block:        100,
			Params:       epochParams{Tempo: 10, ActivityCutoff: 5000, Kappa: 32767, BondsPenalty: 65535, BondsMovingAverage: 900_000, MaxAllowedValidators: 2},
			Stake:        []uint64{3e9, 1e9, 0, 0, 0},
			LastUpdate:   []uint64{60, 60, 0, 0, 0},
			RegisteredAt: []uint64{0, 0, 0, 0, 50},
			Permit:       []bool{true, true, false, false, false},
			OwnerUID:     -1,
			Weights: [][]pair{
				{{2, 65535}, {3, 30000}, {4, 50000}},
				{{2, 20000}, {4, 65535}},
				nil, nil, nil,
			},
			Bonds:    make([][]pair, 5),
			Emission: 1e9,
		}
	}
	none := uint64(math.MaxUint64)
	plain := runEpoch(base())

	masked := base()
	masked.CommitBlocks = []uint64{40, none, none, none, none} // uid 0 committed at 40, uid 4 registered at 50
	dropped := base()
	dropped.Weights[0] = []pair{{2, 65535}, {3, 30000}}
	if got, want := fmt.Sprint(runEpoch(masked)), fmt.Sprint(runEpoch(dropped)); got != want {
		t.Errorf("masked epoch:\n%s\nwant the epoch without uid 0's weight for uid 4:\n%s", got, want)
	}
	if fmt.Sprint(runEpoch(masked)) == fmt.Sprint(plain) {
		t.Error("the mask changed nothing")
	}
	for _, cb := range [][]uint64{{50, 50, none, none, none}, {none, none, none, none, none}} {
		later := base()
		later.CommitBlocks = cb
		if got := fmt.Sprint(runEpoch(later)); got != fmt.Sprint(plain) {
			t.Errorf("commit blocks %v changed the epoch", cb)
		}
	}
}
