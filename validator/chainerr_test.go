package validator

import (
	"context"
	"errors"
	"testing"

	"github.com/pretrain/pretrain/chain"
)

// brokenChain fails every commitment read, as a dropped websocket does.
type brokenChain struct{ chain.Chain }

func (brokenChain) Commitment(context.Context, uint16, string) (chain.Commitment, error) {
	return chain.Commitment{}, errors.New("websocket: close 1006")
}

// TestChainErrorWaits: a chain read failing in a model sync is a chain error (the update
// loop then waits ChainErrorWait, as the reference sleeps after a websocket error), while a
// missing commitment is the miner's misconfiguration.
func TestChainErrorWaits(t *testing.T) {
	v := &Validator{cfg: DefaultConfig(), chain: brokenChain{}, state: NewState(1)}
	_, err := v.syncModel(context.Background(), 3, "5Hot", 1000, false)
	if !isChainError(err) || errors.Is(err, errMisconfigured) {
		t.Fatalf("sync with a failing chain: %v; want a chain error", err)
	}
}
