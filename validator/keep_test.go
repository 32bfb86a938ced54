package validator

import (
	"encoding/json"
	"os"
	"slices"
	"strconv"
	"testing"

	"github.com/pretrain/pretrain/chain"
	"github.com/pretrain/pretrain/scoring"
)

func TestUIDsToKeepReference(t *testing.T) {
	raw, err := os.ReadFile("testdata/validator.json")
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		Keep []struct {
			Models []struct {
				UID  chain.UID
				Loss string
			}
			Competitive []chain.UID
			WinRates    map[string]string `json:"win_rates"`
			Weights     []float32
			SampleMin   int `json:"sample_min"`
			Keep        []chain.UID
		}
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	if len(v.Keep) < 100 {
		t.Fatal("vectors too small")
	}
	for i, c := range v.Keep {
		r := scoring.Ranking{Competitive: c.Competitive, WinRates: map[chain.UID]float64{}}
		for k, s := range c.WinRates {
			u, _ := strconv.Atoi(k)
			r.WinRates[chain.UID(u)], _ = strconv.ParseFloat(s, 64)
		}
		var models []scoring.Model
		for _, m := range c.Models {
			loss, err := strconv.ParseFloat(m.Loss, 64)
			if err != nil {
				t.Fatal(err)
			}
			models = append(models, scoring.Model{UID: m.UID, Loss: loss})
		}
		got := UIDsToKeep(r, models, c.Weights, c.SampleMin)
		if got = slices.Sorted(slices.Values(got)); !slices.Equal(got, c.Keep) {
			t.Errorf("case %d: UIDsToKeep = %v, want %v", i, got, c.Keep)
		}
	}
}
