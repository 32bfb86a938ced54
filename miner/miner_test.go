package miner

import (
	"context"
	"errors"
	"net/http"
	"path/filepath"
	"sync"
	"testing"

	"github.com/pretrain/pretrain/chain"
	"github.com/pretrain/pretrain/chain/localchain"
	"github.com/pretrain/pretrain/competition"
	"github.com/pretrain/pretrain/hub"
	"github.com/pretrain/pretrain/hub/hubtest"
	"github.com/pretrain/pretrain/wallet"
)

const netuid = 9

// openChain opens a manual local chain in a temp file with subnet netuid, registers the
// hotkeys of uris in order (uid i is uris[i]) and returns their keys.
func openChain(t *testing.T, cfg localchain.SubnetConfig, uris ...string) (*localchain.Chain, []*wallet.Keypair) {
	t.Helper()
	ctx := context.Background()
	c, err := localchain.Open(ctx, localchain.Config{Path: filepath.Join(t.TempDir(), "chain.db"), Manual: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.CreateSubnet(ctx, netuid, cfg); err != nil {
		t.Fatal(err)
	}
	cold := key(t, "//Cold")
	var keys []*wallet.Keypair
	for _, u := range uris {
		k := key(t, u)
		if _, err := c.Register(ctx, netuid, k.SS58(), cold.SS58()); err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k)
	}
	if _, err := c.Advance(ctx, 1); err != nil {
		t.Fatal(err)
	}
	return c, keys
}

func key(t *testing.T, uri string) *wallet.Keypair {
	t.Helper()
	k, err := wallet.FromURI(uri)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// startHub serves a local hub on loopback and returns a client holding the "miner"
// namespace's token, and its URL.
func startHub(t *testing.T, wrap func(http.Handler) http.Handler) (*hub.Client, string) {
	t.Helper()
	ts, _ := hubtest.Start(t, wrap, nil)
	c, err := hub.New(hub.Config{Endpoint: ts.URL, Token: hubtest.Token})
	if err != nil {
		t.Fatal(err)
	}
	return c, ts.URL
}

// tinyModel writes a gpt2-tiny model directory with the gpt2 tokenizer (valid for the local
// competition).
func tinyModel(t *testing.T, seed uint64) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "model")
	if _, err := InitModel(dir, InitConfig{Arch: "gpt2", Preset: "gpt2-tiny", Seed: seed}); err != nil {
		t.Fatal(err)
	}
	return dir
}

// countingHub counts uploads and can fail SetVisibility a number of times.
type countingHub struct {
	Hub
	mu             sync.Mutex
	uploads        int
	failVisibility int
}

func (h *countingHub) Upload(ctx context.Context, dir, repo string, opts hub.UploadOptions) (string, error) {
	h.mu.Lock()
	h.uploads++
	h.mu.Unlock()
	return h.Hub.Upload(ctx, dir, repo, opts)
}

func (h *countingHub) SetVisibility(ctx context.Context, repo string, private bool) error {
	h.mu.Lock()
	fail := h.failVisibility > 0
	if fail {
		h.failVisibility--
	}
	h.mu.Unlock()
	if fail {
		return errors.New("hub unavailable")
	}
	return h.Hub.SetVisibility(ctx, repo, private)
}

// flakyChain wraps a chain: it drops the first drop commits (reports success, stores
// nothing), hides each accepted commitment from the next lag reads (returning what was there
// before), fails the first failCommits commits with failErr, and counts commits.
type flakyChain struct {
	PushChain
	mu          sync.Mutex
	drop        int
	lag         int
	failCommits int
	failErr     error

	commits  int // Commit calls
	accepted int // commits forwarded that succeeded
	hidden   int // reads still to hide the latest accepted commitment from
	before   *chain.Commitment
}

func (c *flakyChain) Commit(ctx context.Context, s chain.Signer, n uint16, data string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.commits++
	if c.failCommits > 0 {
		c.failCommits--
		return c.failErr
	}
	if c.drop > 0 {
		c.drop--
		return nil
	}
	prev, err := c.PushChain.Commitment(ctx, n, s.SS58())
	if err := c.PushChain.Commit(ctx, s, n, data); err != nil {
		return err
	}
	c.accepted++
	c.hidden = c.lag
	c.before = nil
	if err == nil {
		c.before = &prev
	}
	return nil
}

func (c *flakyChain) Commitment(ctx context.Context, n uint16, hotkey string) (chain.Commitment, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.hidden > 0 {
		c.hidden--
		if c.before == nil {
			return chain.Commitment{}, chain.ErrNotFound
		}
		return *c.before, nil
	}
	return c.PushChain.Commitment(ctx, n, hotkey)
}

var _ PushChain = (*flakyChain)(nil)

func localSchedule() competition.Schedule { return competition.LocalSchedule }
