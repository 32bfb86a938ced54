package validator

import (
	"errors"
	"slices"
	"sync"

	"github.com/pretrain/pretrain/chain"
)

// ErrNoMiners is returned by a MinerIterator with no uids.
var ErrNoMiners = errors.New("no miner uids")

// MinerIterator cycles through the metagraph's uids in ascending order, forever (taoverse's
// MinerIterator). It is safe for concurrent use.
type MinerIterator struct {
	mu    sync.Mutex
	uids  []chain.UID
	index int
}

// NewMinerIterator starts at position start (the reference starts at a random index so that
// frequent restarts do not favour low uids; the caller draws it).
func NewMinerIterator(uids []chain.UID, start int) *MinerIterator {
	it := &MinerIterator{uids: sorted(uids)}
	if len(it.uids) > 0 {
		it.index = ((start % len(it.uids)) + len(it.uids)) % len(it.uids)
	}
	return it
}

func sorted(uids []chain.UID) []chain.UID {
	s := slices.Clone(uids)
	slices.Sort(s)
	return s
}

// Next returns the next uid and advances.
func (it *MinerIterator) Next() (chain.UID, error) {
	it.mu.Lock()
	defer it.mu.Unlock()
	if len(it.uids) == 0 {
		return 0, ErrNoMiners
	}
	uid := it.uids[it.index]
	it.index = (it.index + 1) % len(it.uids)
	return uid, nil
}

// Peek returns the next uid without advancing.
func (it *MinerIterator) Peek() (chain.UID, error) {
	it.mu.Lock()
	defer it.mu.Unlock()
	if len(it.uids) == 0 {
		return 0, ErrNoMiners
	}
	return it.uids[it.index], nil
}

// SetUIDs replaces the uids and resumes at the first one >= the uid that would have come next,
// wrapping to the start, so that metagraph updates do not reshuffle the cycle.
func (it *MinerIterator) SetUIDs(uids []chain.UID) {
	s := sorted(uids)
	it.mu.Lock()
	defer it.mu.Unlock()
	index := 0
	if len(it.uids) > 0 {
		next := it.uids[it.index]
		index, _ = slices.BinarySearch(s, next)
		if index >= len(s) {
			index = 0
		}
	}
	it.uids, it.index = s, index
}
