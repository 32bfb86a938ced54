package subtensor

import (
	"flag"
	"testing"
	"time"

	"github.com/pretrain/pretrain/chain"
	"github.com/pretrain/pretrain/chain/chaintest"
)

// The conformance suite needs a live node, so it runs only when asked:
//
//	go test ./chain/subtensor -run Conformance -subtensor.localnet ws://127.0.0.1:9944 \
//	    -subtensor.netuid 2 -subtensor.validator //Alice -subtensor.miner //Bob
//
// on a local subtensor (devnet) where the subnet exists, the validator key is registered with
// a validator permit and the miner key is registered and has not committed. Advance waits
// for the node's blocks; with commit-reveal on, the CommitReveal checks need the node to
// ingest drand pulses.
var (
	localnet    = flag.String("subtensor.localnet", "", "ws:// URL of a local subtensor for the conformance suite")
	localNetUID = flag.Uint("subtensor.netuid", 1, "subnet of the conformance suite")
	localVali   = flag.String("subtensor.validator", "//Alice", "validator key URI of the conformance suite")
	localMiner  = flag.String("subtensor.miner", "//Bob", "miner key URI of the conformance suite")
)

func TestConformanceLocalnet(t *testing.T) {
	if *localnet == "" {
		t.Skip("needs a live node: -subtensor.localnet ws://...")
	}
	chaintest.Run(t, func(t *testing.T) chaintest.Harness {
		c, err := Open(t.Context(), Config{Endpoint: *localnet})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return chaintest.Harness{Chain: c, NetUID: uint16(*localNetUID),
			Validator: newSubkeySigner(t, *localVali), Miner: newSubkeySigner(t, *localMiner),
			Advance: func(t *testing.T, n int) { waitBlocks(t, c, n) }}
	})
}

// waitBlocks waits until the node has produced n more blocks.
func waitBlocks(t *testing.T, c *Client, n int) {
	t.Helper()
	start, err := c.CurrentBlock(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(time.Duration(n+1) * time.Minute)
	for {
		b, err := c.CurrentBlock(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if b >= start+chain.Block(n) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the node produced %d of %d blocks in time", b-start, n)
		}
		time.Sleep(250 * time.Millisecond)
	}
}
