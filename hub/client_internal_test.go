package hub

import (
	"fmt"
	"math"
	"strings"
	"testing"
)

// TestTotalSizeSaturates: sizes are no longer capped per file, so the sum saturates instead
// of wrapping; a saturated sum is over any limit, as Python's unbounded sum would be.
func TestTotalSizeSaturates(t *testing.T) {
	c := strings.Repeat("a", 40)
	body := fmt.Sprintf(`{"sha": %q, "siblings": [{"rfilename": "a", "size": %d}, {"rfilename": "b", "size": %d}, {"rfilename": "c", "size": 1}]}`,
		c, int64(math.MaxInt64), int64(math.MaxInt64))
	m, err := parseModelInfo("x/y", []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if got := m.TotalSize(); got != math.MaxInt64 {
		t.Errorf("TotalSize() = %d, want %d", got, int64(math.MaxInt64))
	}
}
