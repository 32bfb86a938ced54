package subtensor_test

import (
	"context"
	"fmt"
	"log"

	"github.com/pretrain/pretrain/chain/subtensor"
)

// Reading subnet 9's metagraph and a miner's commitment from finney. (Not run: it needs
// the network.)
func ExampleOpen() {
	ctx := context.Background()
	c, err := subtensor.Open(ctx, subtensor.Config{Network: "finney"})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	mg, err := c.Metagraph(ctx, 9)
	if err != nil {
		log.Fatal(err)
	}
	cm, err := c.Commitment(ctx, 9, mg.Hotkeys[0])
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(mg.N, cm.Data, cm.Block)
}
