package subtensor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/pretrain/pretrain/chain"
)

// SetWeights sets signer's weights on subnet netuid as bittensor's SDK does and waits until
// the extrinsic is in a block, then reads the block's events for its outcome. The extrinsic
// is sent once: resending a transaction whose fate is unknown could apply it twice, so
// callers retry whole calls (as the reference's set_weights loop does). The reads before
// sending are retried with backoff.
//
// When the subnet has CommitRevealWeightsEnabled (the chain's default), set_weights would
// fail with CommitRevealEnabled; SetWeights then sends
// SubtensorModule.commit_timelocked_weights instead: the weights, as subtensor's
// WeightsTlockPayload, timelock-encrypted to the drand quicknet round bittensor-drand's
// generate_commit picks from the subnet's Tempo and RevealPeriodEpochs. The chain reveals
// and applies them itself once that round's pulse arrives. Otherwise it sends set_weights.
func (c *Client) SetWeights(ctx context.Context, signer chain.Signer, netuid uint16, uids []chain.UID, weights []uint16, versionKey uint64) error {
	err := c.submit(ctx, signer, func(ctx context.Context, m *Metadata, at chain.Hash, block chain.Block) ([]byte, error) {
		p, err := c.commitRevealParams(ctx, m, at, netuid)
		if err != nil {
			return nil, err
		}
		if !p.CommitRevealEnabled {
			return m.setWeightsCall(netuid, uids, weights, versionKey)
		}
		call, round, err := c.timelockedWeightsCall(m, p, block, signer.PublicKey(), netuid, uids, weights, versionKey)
		if err != nil {
			return nil, err
		}
		c.log.Info("committing timelocked weights", "netuid", netuid, "block", block, "reveal_round", round,
			"tempo", p.Tempo, "reveal_period_epochs", p.RevealPeriodEpochs)
		return call, nil
	})
	if err != nil {
		return fmt.Errorf("set weights %d: %w", netuid, err)
	}
	return nil
}

// Commit submits Commitments.set_commitment(netuid, {fields: [Raw<len>(data)]}) signed by
// signer (the hotkey) and waits for inclusion, as SetWeights.
func (c *Client) Commit(ctx context.Context, signer chain.Signer, netuid uint16, data string) error {
	err := c.submit(ctx, signer, func(_ context.Context, m *Metadata, _ chain.Hash, _ chain.Block) ([]byte, error) {
		return m.setCommitmentCall(netuid, data)
	})
	if err != nil {
		return fmt.Errorf("commit %d: %w", netuid, err)
	}
	return nil
}

// DispatchError is a failed extrinsic's error as the runtime reports it.
type DispatchError struct {
	Pallet string // empty for errors outside a pallet (BadOrigin, Token, ...)
	Name   string
	Block  chain.Hash
}

func (e *DispatchError) Error() string {
	if e.Pallet == "" {
		return fmt.Sprintf("dispatch failed in block %s: %s", e.Block, e.Name)
	}
	return fmt.Sprintf("dispatch failed in block %s: %s.%s", e.Block, e.Pallet, e.Name)
}

// Unwrap maps the runtime's error to the chain package's sentinels.
func (e *DispatchError) Unwrap() error {
	switch e.Name {
	case "HotKeyNotRegisteredInSubNet", "HotKeyNotRegisteredInNetwork", "HotKeyAccountNotExists",
		"NotRegistered", "AccountNotAllowedCommit":
		return chain.ErrNotRegistered
	case "SettingWeightsTooFast", "CommittingWeightsTooFast", "TxRateLimitExceeded",
		"SpaceLimitExceeded", "CommitmentSetRateLimitExceeded", "RateLimitExceeded":
		return chain.ErrRateLimited
	}
	return chain.ErrInvalid
}

// poolError maps the transaction pool's refusals (JSON-RPC error 1010, "Invalid
// Transaction", with subtensor's custom codes from its transaction extension) to sentinels.
func poolError(err error) error {
	var re *RPCError
	if !errors.As(err, &re) || re.Code != 1010 {
		return err
	}
	code, ok := strings.CutPrefix(re.Data, "Custom error: ")
	if !ok {
		return err
	}
	switch n, _ := strconv.Atoi(code); n {
	case 4, 10: // HotkeyAccountDoesntExist, HotKeyNotRegisteredInNetwork
		return fmt.Errorf("%w: %w", chain.ErrNotRegistered, err)
	case 6, 12: // RateLimitExceeded, ServingRateLimitExceeded
		return fmt.Errorf("%w: %w", chain.ErrRateLimited, err)
	}
	return err
}

func (c *Client) submit(ctx context.Context, signer chain.Signer, build func(context.Context, *Metadata, chain.Hash, chain.Block) ([]byte, error)) error {
	hash, block, err := c.head(ctx)
	if err != nil {
		return err
	}
	rt, err := c.runtimeAt(ctx, &hash)
	if err != nil {
		return err
	}
	call, err := build(ctx, rt.meta, hash, block)
	if err != nil {
		return err
	}
	genesis, err := c.genesisHash(ctx)
	if err != nil {
		return err
	}
	pub := signer.PublicKey()
	var nonce uint64
	if err := c.call(ctx, &nonce, "system_accountNextIndex", ss58(pub)); err != nil {
		return err
	}
	xt, _, err := rt.meta.signedExtrinsic(call, signer, txParams{
		SpecVersion: rt.version.SpecVersion, TxVersion: rt.version.TransactionVersion,
		Genesis: genesis, Nonce: nonce, Period: c.cfg.Era, Current: uint64(block), Birth: hash,
	})
	if err != nil {
		return err
	}
	xtHash := blake2_256(xt)
	log := c.log.With("hotkey", ss58(pub), "extrinsic", hex0x(xtHash[:]), "nonce", nonce)

	ctx, cancel := context.WithTimeout(ctx, c.cfg.InclusionTimeout)
	defer cancel()
	updates := make(chan json.RawMessage, 16)
	sub, err := c.rpc.Subscribe(ctx, "author", "submitAndWatchExtrinsic", "unwatchExtrinsic", "extrinsicUpdate", updates, hex0x(xt))
	if err != nil {
		return poolError(rpcErr("author_submitAndWatchExtrinsic", err))
	}
	defer sub.Unsubscribe()
	log.Info("extrinsic submitted")
	for {
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for inclusion of %s: %w", hex0x(xtHash[:]), ctx.Err())
		case err := <-sub.Err():
			if err == nil {
				err = errors.New("subscription closed")
			}
			return fmt.Errorf("watch extrinsic %s: %w", hex0x(xtHash[:]), err)
		case u := <-updates:
			st, blk, err := parseStatus(u)
			if err != nil {
				return err
			}
			switch st {
			case "inBlock", "finalized":
				if err := c.outcome(ctx, rt.meta, blk, xt); err != nil {
					return err
				}
				log.Info("extrinsic included", "block_hash", blk.String())
				return nil
			case "dropped", "invalid", "usurped", "finalityTimeout":
				return fmt.Errorf("extrinsic %s: %s", hex0x(xtHash[:]), st)
			default: // future, ready, broadcast, retracted: keep waiting
				log.Debug("extrinsic status", "status", st)
			}
		}
	}
}

// parseStatus reads an author_extrinsicUpdate: a bare string ("ready") or an object with
// one member ({"inBlock": "0x…"}).
func parseStatus(raw json.RawMessage) (string, chain.Hash, error) {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s, chain.Hash{}, nil
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil || len(obj) != 1 {
		return "", chain.Hash{}, fmt.Errorf("extrinsic status %.100s: not a status", raw)
	}
	for k, v := range obj {
		if k == "" {
			return "", chain.Hash{}, fmt.Errorf("extrinsic status %.100s: empty status", raw)
		}
		var hs string
		if json.Unmarshal(v, &hs) == nil {
			if h, err := chain.ParseHash(hs); err == nil {
				return k, h, nil
			}
		}
		if k == "inBlock" || k == "finalized" {
			return "", chain.Hash{}, fmt.Errorf("extrinsic status %.100s: bad block hash", raw)
		}
		return k, chain.Hash{}, nil
	}
	return "", chain.Hash{}, nil
}

// outcome finds xt in block at and reads System.Events there: nil for ExtrinsicSuccess, a
// *DispatchError for ExtrinsicFailed.
func (c *Client) outcome(ctx context.Context, m *Metadata, at chain.Hash, xt []byte) error {
	var blk struct {
		Block struct {
			Extrinsics []string `json:"extrinsics"`
		} `json:"block"`
	}
	if err := c.call(ctx, &blk, "chain_getBlock", at.String()); err != nil {
		return err
	}
	want := hex0x(xt)
	index := -1
	for i, x := range blk.Block.Extrinsics {
		if strings.EqualFold(x, want) {
			index = i
			break
		}
	}
	if index < 0 {
		return fmt.Errorf("block %s: submitted extrinsic not among its %d extrinsics", at, len(blk.Block.Extrinsics))
	}
	key, e, err := m.storageKey("System", "Events")
	if err != nil {
		return err
	}
	raw, err := c.storage(ctx, key, at)
	if err != nil {
		return err
	}
	v, err := m.DecodeValue(e.Value, raw)
	if err != nil {
		return fmt.Errorf("events of block %s: %w", at, err)
	}
	return extrinsicResult(m, v, index, at)
}

// extrinsicResult scans decoded EventRecords for extrinsic index's System.ExtrinsicSuccess
// or System.ExtrinsicFailed.
func extrinsicResult(m *Metadata, events any, index int, at chain.Hash) error {
	list, err := asList(events)
	if err != nil {
		return fmt.Errorf("events: %w", err)
	}
	for _, rec := range list {
		phase, err1 := field(rec, "phase")
		ev, err2 := field(rec, "event")
		if err1 != nil || err2 != nil {
			return fmt.Errorf("events: record without phase or event")
		}
		ph, ok := phase.(Enum)
		if !ok || ph.Name != "ApplyExtrinsic" {
			continue
		}
		if i, err := asUint(ph.Value); err != nil || i != uint64(index) {
			continue
		}
		pallet, ok := ev.(Enum)
		if !ok || pallet.Name != "System" {
			continue
		}
		inner, ok := pallet.Value.(Enum)
		if !ok {
			continue
		}
		switch inner.Name {
		case "ExtrinsicSuccess":
			return nil
		case "ExtrinsicFailed":
			de, err := field(inner.Value, "dispatch_error")
			if err != nil {
				return fmt.Errorf("events: ExtrinsicFailed: %w", err)
			}
			return dispatchError(m, de, at)
		}
	}
	return fmt.Errorf("block %s: no outcome event for extrinsic %d", at, index)
}

// dispatchError names a DispatchError, resolving Module errors through the pallet's error
// enum in metadata.
func dispatchError(m *Metadata, v any, at chain.Hash) error {
	e, ok := v.(Enum)
	if !ok {
		return fmt.Errorf("dispatch error is %T", v)
	}
	if e.Name != "Module" {
		return &DispatchError{Name: e.Name, Block: at}
	}
	idx, err1 := field(e.Value, "index")
	code, err2 := field(e.Value, "error")
	pi, err3 := asUint(idx)
	cb, err4 := asBytes(code)
	if err := errors.Join(err1, err2, err3, err4); err != nil || len(cb) == 0 {
		return fmt.Errorf("module dispatch error: %v", err)
	}
	for _, p := range m.Pallets {
		if uint64(p.Index) != pi || !p.HasErrors {
			continue
		}
		for _, v := range m.Types[p.Errors].Variants {
			if v.Index == cb[0] {
				return &DispatchError{Pallet: p.Name, Name: v.Name, Block: at}
			}
		}
		return &DispatchError{Pallet: p.Name, Name: fmt.Sprintf("error %d", cb[0]), Block: at}
	}
	return &DispatchError{Name: fmt.Sprintf("module %d error %d", pi, cb[0]), Block: at}
}
