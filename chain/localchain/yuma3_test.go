package localchain

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"testing"
)

// TestYuma3KappaMovesFirst replays subtensor's test_yuma_3_kappa_moves_first: Yuma3 with
// liquid alpha, validators A (stake 8), B and C (1 each) moving their weight from server 3
// to server 4 one after another, and checks bonds and dividends after each epoch within the
// test's tolerance 1e-3.
func TestYuma3KappaMovesFirst(t *testing.T) {
	data, err := os.ReadFile("testdata/subtensor-epoch-test-vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		Y3 struct {
			Bonds     [][][]float64 `json:"asserted_bonds_rows_ABC_cols_3_4"`
			Dividends [][]float64   `json:"asserted_dividends_uids_0_4"`
		} `json:"test_yuma_3_kappa_moves_first"`
	}
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatal(err)
	}
	if len(v.Y3.Bonds) != 6 || len(v.Y3.Dividends) != 6 {
		t.Fatalf("vector has %d bond and %d dividend epochs, want 6", len(v.Y3.Bonds), len(v.Y3.Dividends))
	}
	const n = 5
	in := &epochInput{
		Params: epochParams{Tempo: 1, ActivityCutoff: 5000, Kappa: 32767, BondsPenalty: 0,
			BondsMovingAverage: 975_000, MaxAllowedValidators: 3, Yuma3: true, LiquidAlpha: true,
			// set_alpha_values_32(0.1, 0.3): floor(I32F32(x) · 65535)
			AlphaLow: 6553, AlphaHigh: 19660, AlphaSigmoidSteepness: 1000},
		Stake:        []uint64{8, 1, 1, 0, 0},
		LastUpdate:   []uint64{1, 1, 1, 1, 1},
		RegisteredAt: []uint64{1, 1, 1, 1, 1}, // registered at block 1 (new_test_ext(1))
		Permit:       make([]bool, n),
		OwnerUID:     -1,
		Weights:      make([][]pair, n),
		Bonds:        make([][]pair, n),
		Emission:     1_000_000_000,
	}
	block := uint64(2)
	epoch := func() *epochOutput {
		in.Block = block
		out := runEpoch(in)
		in.Permit, in.Bonds = out.Permit, out.Bonds
		block++
		return out
	}
	epoch() // setup: run_epoch at block 2 issues permits
	s3, s4 := []pair{{3, 65535}, {4, 0}}, []pair{{3, 0}, {4, 65535}}
	rows := [][3][]pair{ // A, B, C weights set before each epoch; nil: unchanged
		{s3, s3, s3}, {s4, s3, s3}, {s4, s4, s3}, {s4, s4, s4}, {}, {},
	}
	const eps = 1e-3
	for e, r := range rows {
		t.Run(fmt.Sprintf("epoch%d", e), func(t *testing.T) {
			for uid, row := range r {
				if row != nil {
					in.Weights[uid] = row
					in.LastUpdate[uid] = block - 1 // set, then next_block_no_epoch
				}
			}
			out := epoch()
			for i := 0; i < 3; i++ {
				for k, j := range []int{3, 4} {
					got := float64(bondAt(in.Bonds, i, j)) / 65535
					if want := v.Y3.Bonds[e][i][k]; math.Abs(got-want) > eps {
						t.Errorf("bond[%d][%d] = %.4f, want %.4f", i, j, got, want)
					}
				}
			}
			for i, want := range v.Y3.Dividends[e] {
				if got := float64(out.Dividends[i]) / 65535; math.Abs(got-want) > eps {
					t.Errorf("dividends[%d] = %.4f, want %.4f", i, got, want)
				}
			}
		})
	}
}

// TestYuma3Scenarios replays the other Yuma3 scenarios of subtensor's test module with the
// same harness: bonds and dividends after each of six epochs, within 1e-3.
func TestYuma3Scenarios(t *testing.T) {
	data, err := os.ReadFile("testdata/subtensor-yuma3-scenarios.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Tolerance float64 `json:"tolerance"`
		Scenarios []struct {
			Name      string        `json:"name"`
			Stakes    []uint64      `json:"stakes"`
			Servers   []int         `json:"servers"`
			Liquid    bool          `json:"liquid_alpha"`
			Weights   [][][]uint16  `json:"weights_per_epoch"`
			Bonds     [][][]float64 `json:"bonds_rows_ABC"`
			Dividends [][]float64   `json:"dividends"`
		} `json:"scenarios"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Scenarios) != 5 {
		t.Fatalf("%d scenarios, want 5", len(doc.Scenarios))
	}
	for _, sc := range doc.Scenarios {
		t.Run(sc.Name, func(t *testing.T) {
			n := len(sc.Stakes)
			in := &epochInput{
				Params: epochParams{Tempo: 1, ActivityCutoff: 5000, Kappa: 32767, BondsMovingAverage: 975_000,
					MaxAllowedValidators: 3, Yuma3: true, LiquidAlpha: sc.Liquid,
					AlphaLow: 6553, AlphaHigh: 19660, AlphaSigmoidSteepness: 1000},
				Stake: sc.Stakes, LastUpdate: make([]uint64, n), RegisteredAt: make([]uint64, n),
				Permit: make([]bool, n), OwnerUID: -1, Weights: make([][]pair, n), Bonds: make([][]pair, n),
				Emission: 1_000_000_000,
			}
			for i := range in.RegisteredAt {
				in.RegisteredAt[i], in.LastUpdate[i] = 1, 1
			}
			block := uint64(2)
			run := func() *epochOutput {
				in.Block = block
				out := runEpoch(in)
				in.Permit, in.Bonds = out.Permit, out.Bonds
				block++
				return out
			}
			run()
			for e := range sc.Dividends {
				for uid, raw := range sc.Weights[e] {
					up := maxUpscaleU16(raw) // set_weights stores rows max-upscaled
					row := make([]pair, len(up))
					for k, w := range up {
						row[k] = pair{uint16(sc.Servers[k]), w}
					}
					in.Weights[uid] = row
					in.LastUpdate[uid] = block - 1
				}
				out := run()
				for i := 0; i < 3; i++ {
					for k, j := range sc.Servers {
						got := float64(bondAt(in.Bonds, i, j)) / 65535
						if want := sc.Bonds[e][i][k]; math.Abs(got-want) > doc.Tolerance {
							t.Errorf("epoch %d: bond[%d][%d] = %.4f, want %.4f", e, i, j, got, want)
						}
					}
				}
				for i, want := range sc.Dividends[e] {
					if got := float64(out.Dividends[i]) / 65535; math.Abs(got-want) > doc.Tolerance {
						t.Errorf("epoch %d: dividends[%d] = %.4f, want %.4f", e, i, got, want)
					}
				}
			}
		})
	}
}
