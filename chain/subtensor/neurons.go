package subtensor

import (
	"fmt"
	"math"

	"github.com/pretrain/pretrain/chain"
	"github.com/pretrain/pretrain/wallet"
	"github.com/vedhavyas/go-subkey/v2"
)

func ss58(pub [32]byte) string { return wallet.SS58Encode(pub) }

// decodeSS58 returns the public key of an SS58 address; any prefix is accepted, as
// bittensor does.
func decodeSS58(addr string) ([32]byte, error) {
	var pub [32]byte
	if len(addr) > 64 {
		return pub, fmt.Errorf("ss58 address of %d characters", len(addr))
	}
	_, b, err := subkey.SS58Decode(addr)
	if err != nil {
		return pub, fmt.Errorf("ss58 address %q: %w", addr, err)
	}
	if len(b) != len(pub) {
		return pub, fmt.Errorf("ss58 address %q: %d-byte key, want 32", addr, len(b))
	}
	copy(pub[:], b)
	return pub, nil
}

// neuron is one NeuronInfoLite (ST rpc_info/neuron_info.rs), the fields the metagraph uses.
type neuron struct {
	Hotkey, Coldkey [32]byte
	UID             uint16
	Active          bool
	Stake           uint64 // sum of the (coldkey, alpha stake) entries, rao
	Rank            uint16
	Emission        uint64 // rao per epoch
	Incentive       uint16
	Consensus       uint16
	Trust           uint16
	ValidatorTrust  uint16
	Dividends       uint16
	LastUpdate      uint64
	ValidatorPermit bool
	PruningScore    uint16
}

// neuronFromValue reads a decoded NeuronInfoLite or NeuronInfo by field name.
func neuronFromValue(v any) (neuron, error) {
	var n neuron
	var err error
	get := func(name string) any {
		if err != nil {
			return nil
		}
		var f any
		f, err = field(v, name)
		return f
	}
	u := func(name string, bits int) uint64 {
		f := get(name)
		if err != nil {
			return 0
		}
		x, e := asUint(f)
		if e == nil && bits < 64 && x >= 1<<bits {
			e = fmt.Errorf("%d exceeds u%d", x, bits)
		}
		if e != nil {
			err = fmt.Errorf("field %s: %w", name, e)
		}
		return x
	}
	b := func(name string) bool {
		f := get(name)
		if err != nil {
			return false
		}
		x, e := asBool(f)
		if e != nil {
			err = fmt.Errorf("field %s: %w", name, e)
		}
		return x
	}
	acct := func(name string) [32]byte {
		f := get(name)
		if err != nil {
			return [32]byte{}
		}
		x, e := asAccount(f)
		if e != nil {
			err = fmt.Errorf("field %s: %w", name, e)
		}
		return x
	}
	n.Hotkey = acct("hotkey")
	n.Coldkey = acct("coldkey")
	n.UID = uint16(u("uid", 16))
	n.Active = b("active")
	n.Rank = uint16(u("rank", 16))
	n.Emission = u("emission", 64)
	n.Incentive = uint16(u("incentive", 16))
	n.Consensus = uint16(u("consensus", 16))
	n.Trust = uint16(u("trust", 16))
	n.ValidatorTrust = uint16(u("validator_trust", 16))
	n.Dividends = uint16(u("dividends", 16))
	n.LastUpdate = u("last_update", 64)
	n.ValidatorPermit = b("validator_permit")
	n.PruningScore = uint16(u("pruning_score", 16))
	stakes := get("stake")
	if err != nil {
		return n, err
	}
	list, err := asList(stakes)
	if err != nil {
		return n, fmt.Errorf("field stake: %w", err)
	}
	for i, e := range list {
		pair, err := asList(e)
		if err != nil || len(pair) != 2 {
			return n, fmt.Errorf("field stake[%d]: want (account, amount)", i)
		}
		amt, err := asUint(pair[1])
		if err != nil {
			return n, fmt.Errorf("field stake[%d]: %w", i, err)
		}
		if n.Stake+amt < n.Stake {
			return n, fmt.Errorf("field stake: sum overflows u64")
		}
		n.Stake += amt
	}
	return n, nil
}

func neuronsFromValue(v any) ([]neuron, error) {
	list, err := asList(v)
	if err != nil {
		return nil, fmt.Errorf("neurons: %w", err)
	}
	out := make([]neuron, 0, len(list))
	for i, e := range list {
		n, err := neuronFromValue(e)
		if err != nil {
			return nil, fmt.Errorf("neuron %d: %w", i, err)
		}
		out = append(out, n)
	}
	return out, nil
}

// uintList reads a decoded Vec of unsigned integers (compact or not).
func uintList(v any, name string) ([]uint64, error) {
	f, err := field(v, name)
	if err != nil {
		return nil, err
	}
	list, err := asList(f)
	if err != nil {
		return nil, fmt.Errorf("field %s: %w", name, err)
	}
	out := make([]uint64, len(list))
	for i, e := range list {
		if out[i], err = asUint(e); err != nil {
			return nil, fmt.Errorf("field %s[%d]: %w", name, i, err)
		}
	}
	return out, nil
}

// weightRows decodes Weights storage values (Vec<(u16, u16)>) keyed by uid.
type weightRows map[uint16][]chain.WeightEntry

// u16Frac is how bittensor turns a u16 proportion into a float (x / 65535).
func u16Frac(x uint16) float64 { return float64(x) / math.MaxUint16 }

// raoPerTAO converts rao to TAO (or alpha), as bittensor's Balance does.
const raoPerTAO = 1e9

// buildMetagraph assembles the chain.Metagraph of subnet netuid at block from the neurons
// (uid order), the total stake per uid (nil: use the neurons' alpha stake) and the weight
// rows.
func buildMetagraph(netuid uint16, block chain.Block, ns []neuron, totalStake []uint64, rows weightRows) (*chain.Metagraph, error) {
	n := len(ns)
	if totalStake != nil && len(totalStake) != n {
		return nil, fmt.Errorf("metagraph %d: %d stakes for %d neurons", netuid, len(totalStake), n)
	}
	mg := &chain.Metagraph{
		NetUID: netuid, Block: block, N: n,
		Hotkeys: make([]string, n), Coldkeys: make([]string, n),
		Stake: make([]float64, n), ValidatorPermit: make([]bool, n),
		Trust: make([]float64, n), ValidatorTrust: make([]float64, n),
		Consensus: make([]float64, n), Incentive: make([]float64, n),
		Dividends: make([]float64, n), Emission: make([]float64, n),
		LastUpdate: make([]chain.Block, n), Weights: make([][]chain.WeightEntry, n),
	}
	for i, nr := range ns {
		if int(nr.UID) != i {
			return nil, fmt.Errorf("metagraph %d: neuron %d has uid %d; uids must be 0..n-1 in order", netuid, i, nr.UID)
		}
		mg.Hotkeys[i] = ss58(nr.Hotkey)
		mg.Coldkeys[i] = ss58(nr.Coldkey)
		stake := nr.Stake
		if totalStake != nil {
			stake = totalStake[i]
		}
		mg.Stake[i] = float64(stake) / raoPerTAO
		mg.ValidatorPermit[i] = nr.ValidatorPermit
		mg.Trust[i] = u16Frac(nr.Trust)
		mg.ValidatorTrust[i] = u16Frac(nr.ValidatorTrust)
		mg.Consensus[i] = u16Frac(nr.Consensus)
		mg.Incentive[i] = u16Frac(nr.Incentive)
		mg.Dividends[i] = u16Frac(nr.Dividends)
		mg.Emission[i] = float64(nr.Emission) / raoPerTAO
		mg.LastUpdate[i] = chain.Block(nr.LastUpdate)
		mg.Weights[i] = []chain.WeightEntry{}
	}
	for uid, row := range rows {
		if int(uid) >= n {
			continue // a row of a uid outside the snapshot (the subnet shrank): not a neuron
		}
		mg.Weights[uid] = append([]chain.WeightEntry(nil), row...)
	}
	return mg, nil
}

// totalStakeFromState reads SubnetState.total_stake (rao per uid): bittensor's metagraph S.
func totalStakeFromState(v any) ([]uint64, error) {
	inner, ok, err := asOption(v)
	if err != nil {
		return nil, fmt.Errorf("subnet state: %w", err)
	}
	if !ok {
		return nil, fmt.Errorf("subnet state: %w", chain.ErrNotFound)
	}
	return uintList(inner, "total_stake")
}

// weightRow reads a list of (uid, weight) pairs, dropping zero weights as the chain's
// NeuronInfo does.
func weightRow(v any) ([]chain.WeightEntry, error) {
	list, err := asList(v)
	if err != nil {
		return nil, fmt.Errorf("weights: %w", err)
	}
	row := make([]chain.WeightEntry, 0, len(list))
	for i, e := range list {
		pair, err := asList(e)
		if err != nil || len(pair) != 2 {
			return nil, fmt.Errorf("weights[%d]: want (uid, weight)", i)
		}
		uid, err1 := asUint(pair[0])
		w, err2 := asUint(pair[1])
		if err1 != nil || err2 != nil || uid > math.MaxUint16 || w > math.MaxUint16 {
			return nil, fmt.Errorf("weights[%d]: want two u16", i)
		}
		if w == 0 {
			continue
		}
		row = append(row, chain.WeightEntry{UID: chain.UID(uid), Weight: uint16(w)})
	}
	return row, nil
}
