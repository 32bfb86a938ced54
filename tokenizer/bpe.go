package tokenizer

// merge is one entry of the merge table: pair (left, right) becomes id at priority rank.
type merge struct {
	rank int32
	id   int32
}

// bpe is the BPE model of a byte-level tokenizer, in ids: a word starts as the ids of its
// bytes and merges by the rank of each adjacent pair, as tokenizers' Word::merge_all does.
type bpe struct {
	byteID [256]int32
	merges map[uint64]merge // key: left<<32 | right
	// whole maps a byte string to its id when encoding that string gives exactly that
	// one id (every vocab entry under ignore_merges; else those BPE rebuilds whole).
	whole        map[string]int32
	ignoreMerges bool
	// uniqueMerges: no id is the result of two different pairs. Then the greedy
	// lowest-(rank, position) scan is the same algorithm as tokenizers' heap.
	uniqueMerges bool
}

func pairKey(a, b int32) uint64 { return uint64(uint32(a))<<32 | uint64(uint32(b)) }

// scanLimit is the word length from which the O(n log n) heap replaces the O(n²) scan.
const scanLimit = 64

// appendWord appends the ids of one pre-tokenized piece.
func (m *bpe) appendWord(dst []int32, w string) []int32 {
	switch len(w) {
	case 0:
		return dst
	case 1:
		return append(dst, m.byteID[w[0]])
	}
	if id, ok := m.whole[w]; ok {
		return append(dst, id)
	}
	if m.uniqueMerges && len(w) < scanLimit {
		return m.appendScan(dst, w)
	}
	return m.appendHeap(dst, w)
}

// appendScan merges by repeatedly taking the leftmost adjacent pair of lowest rank.
func (m *bpe) appendScan(dst []int32, w string) []int32 {
	var buf [scanLimit]int32
	var ranks [scanLimit]merge
	syms := buf[:len(w)]
	for i := range len(w) {
		syms[i] = m.byteID[w[i]]
	}
	const none = int32(1<<31 - 1)
	pr := ranks[:len(syms)-1]
	for i := range pr {
		pr[i] = m.lookup(syms[i], syms[i+1])
	}
	for len(syms) > 1 {
		best, at := none, -1
		for i, p := range pr {
			if p.rank < best {
				best, at = p.rank, i
			}
		}
		if at < 0 {
			break
		}
		syms[at] = pr[at].id
		copy(syms[at+1:], syms[at+2:])
		syms = syms[:len(syms)-1]
		copy(pr[at:], pr[at+1:])
		pr = pr[:len(pr)-1]
		if at > 0 {
			pr[at-1] = m.lookup(syms[at-1], syms[at])
		}
		if at < len(pr) {
			pr[at] = m.lookup(syms[at], syms[at+1])
		}
	}
	return append(dst, syms...)
}

func (m *bpe) lookup(a, b int32) merge {
	if mg, ok := m.merges[pairKey(a, b)]; ok {
		return mg
	}
	return merge{rank: 1<<31 - 1, id: -1}
}

// symbol is one node of the doubly linked word in appendHeap.
type symbol struct {
	id         int32
	prev, next int32
	gone       bool
}

type heapEntry struct {
	pos  int32
	rank int32
	id   int32
}

// mergeHeap is a binary min-heap of entries by (rank, pos), written out rather than behind
// container/heap's interface: the heap is the whole cost of merging a long word.
type mergeHeap []heapEntry

func (h mergeHeap) less(i, j int) bool {
	if h[i].rank != h[j].rank {
		return h[i].rank < h[j].rank
	}
	return h[i].pos < h[j].pos
}

func (h mergeHeap) up(i int) {
	for i > 0 {
		p := (i - 1) / 2
		if !h.less(i, p) {
			return
		}
		h[i], h[p] = h[p], h[i]
		i = p
	}
}

func (h mergeHeap) down(i int) {
	for {
		l := 2*i + 1
		if l >= len(h) {
			return
		}
		c := l
		if r := l + 1; r < len(h) && h.less(r, l) {
			c = r
		}
		if !h.less(c, i) {
			return
		}
		h[i], h[c] = h[c], h[i]
		i = c
	}
}

func (h mergeHeap) init() {
	for i := len(h)/2 - 1; i >= 0; i-- {
		h.down(i)
	}
}

func (h *mergeHeap) push(e heapEntry) {
	*h = append(*h, e)
	h.up(len(*h) - 1)
}

func (h *mergeHeap) pop() heapEntry {
	old := *h
	top := old[0]
	last := len(old) - 1
	old[0] = old[last]
	*h = old[:last]
	h.down(0)
	return top
}

// appendHeap is tokenizers' Word::merge_all (no dropout): a min-heap of (rank, position)
// entries over a linked list of symbols; an entry is stale, and skipped, when the pair now
// at its position no longer merges into the entry's id.
func (m *bpe) appendHeap(dst []int32, w string) []int32 {
	syms := make([]symbol, len(w))
	h := make(mergeHeap, 0, len(w))
	for i := range len(w) {
		syms[i] = symbol{id: m.byteID[w[i]], prev: int32(i - 1), next: int32(i + 1)}
	}
	syms[len(w)-1].next = -1
	for i := 0; i+1 < len(w); i++ {
		if mg, ok := m.merges[pairKey(syms[i].id, syms[i+1].id)]; ok {
			h = append(h, heapEntry{pos: int32(i), rank: mg.rank, id: mg.id})
		}
	}
	h.init()
	for len(h) > 0 {
		top := h.pop()
		cur := &syms[top.pos]
		if cur.gone || cur.next < 0 {
			continue
		}
		nextPos := cur.next
		mg, ok := m.merges[pairKey(cur.id, syms[nextPos].id)]
		if !ok || mg.id != top.id {
			continue
		}
		cur.id = top.id
		syms[nextPos].gone = true
		cur.next = syms[nextPos].next
		if cur.next >= 0 {
			syms[cur.next].prev = top.pos
		}
		if cur.prev >= 0 {
			if mg, ok := m.merges[pairKey(syms[cur.prev].id, cur.id)]; ok {
				h.push(heapEntry{pos: cur.prev, rank: mg.rank, id: mg.id})
			}
		}
		if cur.next >= 0 {
			if mg, ok := m.merges[pairKey(cur.id, syms[cur.next].id)]; ok {
				h.push(heapEntry{pos: top.pos, rank: mg.rank, id: mg.id})
			}
		}
	}
	for i := range syms {
		if !syms[i].gone {
			dst = append(dst, syms[i].id)
		}
	}
	return dst
}
