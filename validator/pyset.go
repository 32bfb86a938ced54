package validator

import "github.com/pretrain/pretrain/chain"

// uidSet is a set of uids that iterates in CPython 3.11's set order for small non-negative
// ints (hash(i) == i): the reference keeps uids to evaluate in Python sets and evaluates
// list(set), and that order decides ties (the first maximal win rate is the top model, the
// keep set's stable sort). It models setobject.c's open addressing (linear probes, then
// perturbation), its growth and set_merge; sets here never delete, only clear.
type uidSet struct {
	table []int32 // uid, or -1 for an empty slot
	used  int
}

const (
	pySetMinSize = 8
	linearProbes = 9
	perturbShift = 5
)

func newUIDSet(uids ...chain.UID) *uidSet {
	s := &uidSet{}
	s.clear()
	for _, u := range uids {
		s.add(u)
	}
	return s
}

func (s *uidSet) clear() {
	s.table = emptyTable(pySetMinSize)
	s.used = 0
}

func emptyTable(n int) []int32 {
	t := make([]int32, n)
	for i := range t {
		t[i] = -1
	}
	return t
}

func (s *uidSet) len() int { return s.used }

func (s *uidSet) has(u chain.UID) bool {
	mask := len(s.table) - 1
	for i, perturb := int(u)&mask, uint(u); ; {
		probes := 0
		if i+linearProbes <= mask {
			probes = linearProbes
		}
		for j := 0; j <= probes; j++ {
			switch s.table[i+j] {
			case int32(u):
				return true
			case -1:
				return false
			}
		}
		perturb >>= perturbShift
		i = (i*5 + 1 + int(perturb)) & mask
	}
}

// add is set_add_entry: probe for the key or the first empty slot, then grow when the
// table is 3/5 full.
func (s *uidSet) add(u chain.UID) {
	if s.has(u) {
		return
	}
	insertClean(s.table, u)
	s.used++
	if mask := len(s.table) - 1; s.used*5 >= mask*3 {
		s.resize(s.used * 4)
	}
}

// insertClean is set_insert_clean: the first empty slot on u's probe sequence.
func insertClean(table []int32, u chain.UID) {
	mask := len(table) - 1
	for i, perturb := int(u)&mask, uint(u); ; {
		probes := 0
		if i+linearProbes <= mask {
			probes = linearProbes
		}
		for j := 0; j <= probes; j++ {
			if table[i+j] == -1 {
				table[i+j] = int32(u)
				return
			}
		}
		perturb >>= perturbShift
		i = (i*5 + 1 + int(perturb)) & mask
	}
}

// resize is set_table_resize: the smallest power of two above minUsed, refilled in the old
// table's order.
func (s *uidSet) resize(minUsed int) {
	n := pySetMinSize
	for n <= minUsed {
		n <<= 1
	}
	old := s.table
	s.table = emptyTable(n)
	for _, u := range old {
		if u >= 0 {
			insertClean(s.table, chain.UID(u))
		}
	}
}

// update is set.update(other) for a set argument (set_merge).
func (s *uidSet) update(other *uidSet) {
	if other.used == 0 {
		return
	}
	if mask := len(s.table) - 1; (s.used+other.used)*5 >= mask*3 {
		s.resize((s.used + other.used) * 2)
	}
	if s.used == 0 {
		if len(s.table) == len(other.table) {
			copy(s.table, other.table)
		} else {
			for _, u := range other.table {
				if u >= 0 {
					insertClean(s.table, chain.UID(u))
				}
			}
		}
		s.used = other.used
		return
	}
	for _, u := range other.table {
		if u >= 0 {
			s.add(chain.UID(u))
		}
	}
}

// items lists the set in iteration order.
func (s *uidSet) items() []chain.UID {
	out := make([]chain.UID, 0, s.used)
	for _, u := range s.table {
		if u >= 0 {
			out = append(out, chain.UID(u))
		}
	}
	return out
}
