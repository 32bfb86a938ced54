package validator

import (
	"encoding/json"
	"os"
	"slices"
	"testing"

	"github.com/pretrain/pretrain/chain"
)

// TestUIDSetOrderCPython replays set operations recorded from CPython 3.11
// (testdata/gen_pyset.py) and compares the iteration order.
func TestUIDSetOrderCPython(t *testing.T) {
	raw, err := os.ReadFile("testdata/pyset.json")
	if err != nil {
		t.Fatal(err)
	}
	var cases []struct {
		Ops []struct {
			Op   string
			UIDs []chain.UID
		}
		Order []chain.UID
	}
	if err := json.Unmarshal(raw, &cases); err != nil {
		t.Fatal(err)
	}
	for i, c := range cases {
		s := newUIDSet()
		for _, op := range c.Ops {
			switch op.Op {
			case "new":
				s = newUIDSet(op.UIDs...)
			case "add":
				s.add(op.UIDs[0])
			case "update":
				s.update(newUIDSet(op.UIDs...))
			case "clear":
				s.clear()
			case "pickle": // pickle keeps the elements in order and rebuilds with set(list)
				s = newUIDSet(s.items()...)
			}
		}
		if got := s.items(); !slices.Equal(got, c.Order) && !(len(got) == 0 && len(c.Order) == 0) {
			t.Fatalf("case %d: order %v, CPython %v", i, got, c.Order)
		}
	}
}
