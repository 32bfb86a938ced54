package subtensor

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"sync"

	gethrpc "github.com/centrifuge/go-substrate-rpc-client/v4/gethrpc"
	"github.com/pretrain/pretrain/chain"
	"github.com/pretrain/pretrain/chain/timelock"
)

// Client is the real Subtensor chain over Substrate JSON-RPC (websocket). It is safe for
// concurrent use. Reads are pinned to one block each and retried with backoff; metadata is
// fetched per runtime version and refreshed after a runtime upgrade.
type Client struct {
	rpc *gethrpc.Client
	cfg Config
	log *slog.Logger

	beacon *timelock.PublicKey // timelock public key of weight commits; nil: drand quicknet's (tests swap it)

	mu      sync.Mutex
	rt      *runtime // latest runtime seen
	genesis *chain.Hash
}

var (
	_ chain.Chain              = (*Client)(nil)
	_ chain.WeightCommitReader = (*Client)(nil)
)

// runtime is one runtime version and its metadata.
type runtime struct {
	version runtimeVersion
	meta    *Metadata
}

// Open connects to the configured endpoint. It does not read the chain yet: the first call
// fetches the runtime's metadata.
func Open(ctx context.Context, cfg Config) (*Client, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	u, _ := cfg.URL()
	c := &Client{cfg: cfg, log: cfg.Logger.With("component", "subtensor")}
	err := c.retry(ctx, "connect "+u, func(ctx context.Context) error {
		ctx, cancel := context.WithTimeout(ctx, cfg.CallTimeout)
		defer cancel()
		r, err := gethrpc.DialWebsocket(ctx, u, "")
		c.rpc = r
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("open subtensor: %w", err)
	}
	c.log.Info("connected", "endpoint", u)
	return c, nil
}

// Close closes the connection.
func (c *Client) Close() error {
	c.rpc.Close()
	return nil
}

// runtimeAt returns the runtime at block hash at (nil: the best block), fetching its
// metadata when the spec version is new.
func (c *Client) runtimeAt(ctx context.Context, at *chain.Hash) (*runtime, error) {
	var args []any
	if at != nil {
		args = append(args, at.String())
	}
	var v runtimeVersion
	if err := c.call(ctx, &v, "state_getRuntimeVersion", args...); err != nil {
		return nil, err
	}
	c.mu.Lock()
	rt := c.rt
	c.mu.Unlock()
	if rt != nil && rt.version.SpecVersion == v.SpecVersion {
		return rt, nil
	}
	m, err := c.fetchMetadata(ctx, args)
	if err != nil {
		return nil, err
	}
	rt = &runtime{version: v, meta: m}
	c.mu.Lock()
	c.rt = rt
	c.mu.Unlock()
	c.log.Info("runtime metadata loaded", "spec_version", v.SpecVersion, "metadata_version", m.Version)
	return rt, nil
}

// fetchMetadata asks for V15 (which describes the runtime APIs) and falls back to
// state_getMetadata (V14) on runtimes that do not offer it.
func (c *Client) fetchMetadata(ctx context.Context, at []any) (*Metadata, error) {
	var s string
	err := c.call(ctx, &s, "state_call", append([]any{"Metadata_metadata_at_version", hex0x(appendU32(nil, 15))}, at...)...)
	if err == nil {
		b, err := parseHex(s)
		if err != nil {
			return nil, fmt.Errorf("metadata v15: %w", err)
		}
		if len(b) > 0 && b[0] == 1 { // Some(metadata)
			m, err := ParseMetadata(b)
			if err != nil {
				return nil, err
			}
			return m, nil
		}
	}
	if err := c.call(ctx, &s, "state_getMetadata", at...); err != nil {
		return nil, err
	}
	b, err := parseHex(s)
	if err != nil {
		return nil, fmt.Errorf("metadata: %w", err)
	}
	return ParseMetadata(b)
}

// bestHash returns the best block's hash.
func (c *Client) bestHash(ctx context.Context) (chain.Hash, error) {
	var s string
	if err := c.call(ctx, &s, "chain_getHead"); err != nil {
		return chain.Hash{}, err
	}
	h, err := chain.ParseHash(s)
	if err != nil {
		return h, fmt.Errorf("chain_getHead: %w", err)
	}
	return h, nil
}

// head returns the best block's hash and number.
func (c *Client) head(ctx context.Context) (chain.Hash, chain.Block, error) {
	h, err := c.bestHash(ctx)
	if err != nil {
		return h, 0, err
	}
	var hd *header
	if err := c.call(ctx, &hd, "chain_getHeader", h.String()); err != nil {
		return h, 0, err
	}
	if hd == nil {
		return h, 0, fmt.Errorf("chain_getHeader %s: no header", h)
	}
	b, err := hd.block()
	return h, b, err
}

// CurrentBlock returns the best block's number.
func (c *Client) CurrentBlock(ctx context.Context) (chain.Block, error) {
	var hd *header
	if err := c.call(ctx, &hd, "chain_getHeader"); err != nil {
		return 0, fmt.Errorf("current block: %w", err)
	}
	if hd == nil {
		return 0, fmt.Errorf("current block: node returned no header")
	}
	b, err := hd.block()
	if err != nil {
		return 0, fmt.Errorf("current block: %w", err)
	}
	return b, nil
}

// BlockHash returns block b's hash, or an error wrapping chain.ErrNotFound when the node
// does not know the block.
func (c *Client) BlockHash(ctx context.Context, b chain.Block) (chain.Hash, error) {
	if b < 0 || b > math.MaxUint32 {
		return chain.Hash{}, fmt.Errorf("block hash %d: %w", b, chain.ErrNotFound)
	}
	var s *string
	if err := c.call(ctx, &s, "chain_getBlockHash", uint32(b)); err != nil {
		return chain.Hash{}, fmt.Errorf("block hash %d: %w", b, err)
	}
	if s == nil {
		return chain.Hash{}, fmt.Errorf("block hash %d: %w", b, chain.ErrNotFound)
	}
	h, err := chain.ParseHash(*s)
	if err != nil {
		return h, fmt.Errorf("block hash %d: %w", b, err)
	}
	return h, nil
}

// stateCall calls a runtime API at block hash at with SCALE-encoded u16 arguments, after
// checking the method and its input types in metadata, and decodes the result.
func (c *Client) stateCall(ctx context.Context, m *Metadata, at chain.Hash, api, method string, args ...uint16) (any, error) {
	am, err := m.apiMethod(api, method, len(args))
	if err != nil {
		return nil, err
	}
	var enc []byte
	for i, a := range args {
		if !m.isPrim(am.Inputs[i].Type, PrimU16) {
			return nil, fmt.Errorf("runtime api %s_%s input %s is %s, the client sends u16", api, method, am.Inputs[i].Name, m.TypeName(am.Inputs[i].Type))
		}
		enc = appendU16(enc, a)
	}
	var s string
	name := api + "_" + method
	if err := c.call(ctx, &s, "state_call", name, hex0x(enc), at.String()); err != nil {
		return nil, err
	}
	b, err := parseHex(s)
	if err != nil {
		return nil, fmt.Errorf("%s result: %w", name, err)
	}
	return m.decodeAPIResult(am, b)
}

// Metagraph reads subnet netuid at the best block: neurons from
// NeuronInfoRuntimeApi.get_neurons_lite, stake S from SubnetInfoRuntimeApi.get_subnet_state
// (total stake, as bittensor's metagraph), and weight rows from SubtensorModule.Weights.
// It returns an error wrapping chain.ErrNotFound when the subnet does not exist.
func (c *Client) Metagraph(ctx context.Context, netuid uint16) (*chain.Metagraph, error) {
	mg, err := c.metagraph(ctx, netuid)
	if err != nil {
		return nil, fmt.Errorf("metagraph %d: %w", netuid, err)
	}
	return mg, nil
}

func (c *Client) metagraph(ctx context.Context, netuid uint16) (*chain.Metagraph, error) {
	hash, block, err := c.head(ctx)
	if err != nil {
		return nil, err
	}
	rt, err := c.runtimeAt(ctx, &hash)
	if err != nil {
		return nil, err
	}
	m := rt.meta
	var total []uint64
	if _, err := m.API("SubnetInfoRuntimeApi", "get_subnet_state"); err == nil {
		v, err := c.stateCall(ctx, m, hash, "SubnetInfoRuntimeApi", "get_subnet_state", netuid)
		if err != nil {
			return nil, err
		}
		if total, err = totalStakeFromState(v); err != nil {
			return nil, err
		}
	} else {
		// Runtimes before dynamic TAO have no subnet state; stake is the neurons' own.
		exists, err := c.subnetExists(ctx, m, hash, netuid)
		if err != nil {
			return nil, err
		}
		if !exists {
			return nil, fmt.Errorf("subnet: %w", chain.ErrNotFound)
		}
	}
	v, err := c.stateCall(ctx, m, hash, "NeuronInfoRuntimeApi", "get_neurons_lite", netuid)
	if err != nil {
		return nil, err
	}
	ns, err := neuronsFromValue(v)
	if err != nil {
		return nil, err
	}
	rows, err := c.weights(ctx, m, hash, netuid)
	if err != nil {
		return nil, err
	}
	return buildMetagraph(netuid, block, ns, total, rows)
}

func (c *Client) subnetExists(ctx context.Context, m *Metadata, at chain.Hash, netuid uint16) (bool, error) {
	v, err := c.storageValue(ctx, m, at, "SubtensorModule", "NetworksAdded", appendU16(nil, netuid))
	if err != nil || v == nil {
		return false, err
	}
	return asBool(v)
}

// storageValue reads and decodes pallet.item at block hash at. An absent key reads as the
// item's declared default (ValueQuery), or nil for an OptionQuery item.
func (c *Client) storageValue(ctx context.Context, m *Metadata, at chain.Hash, pallet, item string, parts ...[]byte) (any, error) {
	key, e, err := m.storageKey(pallet, item, parts...)
	if err != nil {
		return nil, err
	}
	raw, err := c.storage(ctx, key, at)
	if err != nil {
		return nil, err
	}
	if raw == nil {
		if e.Optional {
			return nil, nil
		}
		raw = e.Default
	}
	v, err := m.DecodeValue(e.Value, raw)
	if err != nil {
		return nil, fmt.Errorf("storage %s.%s: %w", pallet, item, err)
	}
	return v, nil
}

// storage reads one storage value at block hash at; nil when the key is absent.
func (c *Client) storage(ctx context.Context, key []byte, at chain.Hash) ([]byte, error) {
	var s *string
	if err := c.call(ctx, &s, "state_getStorage", hex0x(key), at.String()); err != nil {
		return nil, err
	}
	if s == nil {
		return nil, nil
	}
	return parseHex(*s)
}

const (
	keysPage    = 1000
	maxMapKeys  = 1 << 16 // uids are u16
	queryChunk  = 256
	maxKeyBytes = 1 << 10
)

// weights reads every SubtensorModule.Weights row of netuid (mechanism 0, whose storage
// index is the netuid) at block hash at.
func (c *Client) weights(ctx context.Context, m *Metadata, at chain.Hash, netuid uint16) (weightRows, error) {
	prefix, e, err := m.storageKey("SubtensorModule", "Weights", appendU16(nil, netuid))
	if err != nil {
		return nil, err
	}
	if len(e.Hashers) != 2 || e.Hashers[1] != HasherIdentity {
		return nil, fmt.Errorf("storage SubtensorModule.Weights: second hasher is not Identity(u16)")
	}
	rows := weightRows{}
	err = c.storagePrefix(ctx, at, prefix, func(k, raw []byte) error {
		if len(k) != len(prefix)+2 {
			return fmt.Errorf("weights: key %x is not Weights(%d, uid)", k, netuid)
		}
		uid := uint16(k[len(prefix)]) | uint16(k[len(prefix)+1])<<8
		v, err := m.DecodeValue(e.Value, raw)
		if err != nil {
			return fmt.Errorf("weights of uid %d: %w", uid, err)
		}
		if rows[uid], err = weightRow(v); err != nil {
			return fmt.Errorf("weights of uid %d: %w", uid, err)
		}
		return nil
	})
	return rows, err
}

// storagePrefix calls fn with every storage key under prefix at block hash at and its value,
// paging through the keys (at most maxMapKeys) and reading values queryChunk keys at a time.
func (c *Client) storagePrefix(ctx context.Context, at chain.Hash, prefix []byte, fn func(key, value []byte) error) error {
	var keys []string
	start := hex0x(prefix)
	for {
		var page []string
		if err := c.call(ctx, &page, "state_getKeysPaged", hex0x(prefix), keysPage, start, at.String()); err != nil {
			return err
		}
		keys = append(keys, page...)
		if len(keys) > maxMapKeys {
			return fmt.Errorf("storage map %x: more than %d keys", prefix, maxMapKeys)
		}
		if len(page) < keysPage {
			break
		}
		start = page[len(page)-1]
	}
	for i := 0; i < len(keys); i += queryChunk {
		chunk := keys[i:min(i+queryChunk, len(keys))]
		var sets []struct {
			Changes [][2]*string `json:"changes"`
		}
		if err := c.call(ctx, &sets, "state_queryStorageAt", chunk, at.String()); err != nil {
			return err
		}
		for _, set := range sets {
			for _, ch := range set.Changes {
				if ch[0] == nil || ch[1] == nil {
					continue
				}
				k, err := parseHex(*ch[0])
				if err != nil || len(k) < len(prefix) || string(k[:len(prefix)]) != string(prefix) {
					return fmt.Errorf("storage map: key %.80q is not under %x", *ch[0], prefix)
				}
				raw, err := parseHex(*ch[1])
				if err != nil {
					return fmt.Errorf("storage map: value of %.80q: %w", *ch[0], err)
				}
				if err := fn(k, raw); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// Commitment returns hotkey's Commitments.CommitmentOf(netuid, hotkey) at the best block:
// the first field's data as UTF-8 (as bittensor's get_commitment) and the block it was
// committed at. It returns an error wrapping chain.ErrNotFound when there is none.
func (c *Client) Commitment(ctx context.Context, netuid uint16, hotkey string) (chain.Commitment, error) {
	cm, err := c.commitment(ctx, netuid, hotkey)
	if err != nil {
		return cm, fmt.Errorf("commitment %d %s: %w", netuid, hotkey, err)
	}
	return cm, nil
}

func (c *Client) commitment(ctx context.Context, netuid uint16, hotkey string) (chain.Commitment, error) {
	pub, err := decodeSS58(hotkey)
	if err != nil {
		return chain.Commitment{}, err
	}
	hash, err := c.bestHash(ctx)
	if err != nil {
		return chain.Commitment{}, err
	}
	rt, err := c.runtimeAt(ctx, &hash)
	if err != nil {
		return chain.Commitment{}, err
	}
	key, err := rt.meta.commitmentKey(netuid, pub)
	if err != nil {
		return chain.Commitment{}, err
	}
	raw, err := c.storage(ctx, key, hash)
	if err != nil {
		return chain.Commitment{}, err
	}
	if raw == nil {
		return chain.Commitment{}, chain.ErrNotFound
	}
	return rt.meta.decodeCommitment(raw)
}

// genesisHash returns (and caches) block 0's hash, which every signature commits to.
func (c *Client) genesisHash(ctx context.Context) (chain.Hash, error) {
	c.mu.Lock()
	g := c.genesis
	c.mu.Unlock()
	if g != nil {
		return *g, nil
	}
	h, err := c.BlockHash(ctx, 0)
	if err != nil {
		return h, err
	}
	c.mu.Lock()
	c.genesis = &h
	c.mu.Unlock()
	return h, nil
}
