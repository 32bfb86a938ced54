package subtensor

import (
	"errors"
	"testing"

	"github.com/pretrain/pretrain/chain"
)

// TestClientHyperparameters reads netuid 23's hyperparameters from the real finney storage
// values captured for it (Tempo 1000, MaxWeightsLimit 65535, MinAllowedWeights 1, under the
// captured keys; decoded by @polkadot/types in the fixture) and, for the items the captures
// lack, either the runtime's declared defaults (chain.md section 3: rate limit 100,
// commit-reveal on; version key 0 and reveal period 1) or values placed in storage.
func TestClientHyperparameters(t *testing.T) {
	var captured []struct {
		Seed     string
		Key      string
		Storage  *struct{ Item string }
		ValueHex string `json:"value_hex"`
	}
	loadJSON(t, "finney-storage-captures.decoded.json.gz", &captured)
	n := metagraphNode(t)
	items := map[string]bool{}
	for _, e := range captured {
		if e.Storage == nil || (e.Seed != "tempo" && e.Seed != "max_weight_limit" && e.Seed != "min_allowed_weights") {
			continue
		}
		v := e.ValueHex
		n.storage[e.Key] = &v
		items[e.Storage.Item] = true
	}
	for _, it := range []string{"NetworksAdded", "Tempo", "MaxWeightsLimit", "MinAllowedWeights"} {
		if !items[it] {
			t.Fatalf("capture lacks %s of netuid 23", it)
		}
	}
	c := openFake(t, n)
	got, err := c.Hyperparameters(t.Context(), 23)
	if err != nil {
		t.Fatal(err)
	}
	want := chain.Hyperparameters{Tempo: 1000, WeightsRateLimit: 100, MinAllowedWeights: 1, MaxWeightLimit: 65535,
		WeightsVersion: 0, CommitRevealEnabled: true, RevealPeriodEpochs: 1}
	if got != want {
		t.Errorf("Hyperparameters(23) = %+v, want %+v", got, want)
	}

	putStorage(t, n, "WeightsSetRateLimit", "0x2c01000000000000", appendU16(nil, 23)) // 300
	putStorage(t, n, "WeightsVersionKey", "0x40420f0000000000", appendU16(nil, 23))   // 1000000
	putStorage(t, n, "RevealPeriodEpochs", "0x0300000000000000", appendU16(nil, 23))  // 3
	putStorage(t, n, "MaxWeightsLimit", "0xe803", appendU16(nil, 23))                 // 1000
	setCommitReveal(t, n, 23, false)
	want.WeightsRateLimit, want.WeightsVersion, want.RevealPeriodEpochs, want.MaxWeightLimit, want.CommitRevealEnabled = 300, 1_000_000, 3, 1000, false
	if got, err := c.Hyperparameters(t.Context(), 23); err != nil || got != want {
		t.Errorf("Hyperparameters(23) with stored values = %+v, %v; want %+v", got, err, want)
	}

	if _, err := c.Hyperparameters(t.Context(), 65000); !errors.Is(err, chain.ErrNotFound) {
		t.Errorf("Hyperparameters(65000) error = %v, want ErrNotFound", err)
	}
}
