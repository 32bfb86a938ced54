package subtensor

import (
	"cmp"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"
)

// Endpoints of the networks bittensor names (bittensor core/settings.py).
const (
	FinneyEndpoint = "wss://entrypoint-finney.opentensor.ai:443"
	TestEndpoint   = "wss://test.finney.opentensor.ai:443"
	LocalEndpoint  = "ws://127.0.0.1:9944"
)

// Config configures a Client. The zero value connects to finney with the defaults below.
type Config struct {
	// Network is "finney" (default), "test" or "local", as --subtensor.network; a ws:// or
	// wss:// URL here is used as the endpoint, as bittensor does.
	Network string
	// Endpoint, as --subtensor.chain_endpoint, overrides Network.
	Endpoint string

	// CallTimeout bounds each JSON-RPC call (default 30 s).
	CallTimeout time.Duration
	// Attempts is how many times a read is tried before its error is returned (default 5).
	// Submissions are sent once; see Client.SetWeights.
	Attempts int
	// Backoff is the wait before the first retry, doubling up to MaxBackoff (defaults 1 s
	// and 30 s).
	Backoff, MaxBackoff time.Duration
	// Era is the mortality period of submitted extrinsics in blocks (default 64, about 13
	// minutes): a transaction not included by then can never be.
	Era uint64
	// InclusionTimeout bounds the wait for a submitted extrinsic to be included in a block
	// (default 3 minutes).
	InclusionTimeout time.Duration
	// BlockTime is the chain's block interval, from which weight commits on commit-reveal
	// subnets pick their drand reveal round, as the SDK's block_time (default 12 s; a
	// fast-blocks localnet runs at 250 ms).
	BlockTime time.Duration

	// Logger receives connection and submission events (nil: discard).
	Logger *slog.Logger
}

func (c Config) withDefaults() Config {
	c.CallTimeout = cmp.Or(c.CallTimeout, 30*time.Second)
	c.Attempts = cmp.Or(c.Attempts, 5)
	c.Backoff = cmp.Or(c.Backoff, time.Second)
	c.MaxBackoff = cmp.Or(c.MaxBackoff, 30*time.Second)
	c.Era = cmp.Or(c.Era, 64)
	c.InclusionTimeout = cmp.Or(c.InclusionTimeout, 3*time.Minute)
	c.BlockTime = cmp.Or(c.BlockTime, 12*time.Second)
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// Validate checks the configuration and that the endpoint resolves.
func (c Config) Validate() error {
	if _, err := c.URL(); err != nil {
		return err
	}
	if c.CallTimeout < 0 || c.Attempts < 0 || c.Backoff < 0 || c.MaxBackoff < 0 || c.InclusionTimeout < 0 || c.BlockTime < 0 {
		return fmt.Errorf("subtensor config: negative timeout, attempts, backoff or block time")
	}
	if c.Era != 0 && (c.Era < 4 || c.Era > 1<<16) {
		return fmt.Errorf("subtensor config: era %d outside [4, 65536]", c.Era)
	}
	return nil
}

// URL resolves the websocket URL to connect to.
func (c Config) URL() (string, error) {
	raw := c.Endpoint
	if raw == "" {
		switch n := cmp.Or(c.Network, "finney"); n {
		case "finney":
			raw = FinneyEndpoint
		case "test":
			raw = TestEndpoint
		case "local":
			raw = LocalEndpoint
		default:
			if !strings.Contains(n, "://") {
				return "", fmt.Errorf("subtensor network %q: want finney, test, local or a ws:// URL", n)
			}
			raw = n
		}
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("subtensor endpoint %q: %w", raw, err)
	}
	if (u.Scheme != "ws" && u.Scheme != "wss") || u.Host == "" {
		return "", fmt.Errorf("subtensor endpoint %q: want ws:// or wss://host", raw)
	}
	return raw, nil
}
