package leaderboard

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/pretrain/pretrain/chain"
	"github.com/pretrain/pretrain/validator"
)

func recordLine(t *testing.T, step int64, hotkey string) string {
	t.Helper()
	b, err := json.Marshal(validator.StepRecord{Version: validator.StepLogVersion, Step: step, ValidatorHotkey: hotkey})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestReadStepLog(t *testing.T) {
	good := recordLine(t, 1, "5V")
	long := `{"version":1,"step":2,"validator_hotkey":"5V","seed":"` + strings.Repeat("9", MaxStepLineBytes) + `"}`
	for _, c := range []struct {
		name     string
		in       string
		final    bool
		steps    []int64
		skipped  int
		consumed int
	}{
		{"empty", "", false, nil, 0, 0},
		{"one line", good + "\n", false, []int64{1}, 0, len(good) + 1},
		{"blank lines are not errors", "\n  \n" + good + "\n\n", false, []int64{1}, 0, len(good) + 6},
		{"a partial last line waits", good + "\n" + good[:10], false, []int64{1}, 0, len(good) + 1},
		{"a partial last line of a final read is parsed", good + "\n" + good[:10], true, []int64{1}, 1, len(good) + 11},
		{"final line without newline", good, true, []int64{1}, 0, len(good)},
		{"unknown fields are ignored", `{"zzz":[1,{"a":null}],` + good[1:] + "\n", false, []int64{1}, 0, len(good) + 22},
		{"malformed JSON", "{oops\n" + good + "\n", false, []int64{1}, 1, len(good) + 7},
		{"newer version", `{"version":2,"step":3,"validator_hotkey":"5V"}` + "\n", false, nil, 1, 47},
		{"no version", `{"step":3,"validator_hotkey":"5V"}` + "\n", false, nil, 1, 35},
		{"no hotkey", `{"version":1,"step":3}` + "\n", false, nil, 1, 23},
		{"negative step", `{"version":1,"step":-3,"validator_hotkey":"5V"}` + "\n", false, nil, 1, 48},
		{"uid_data key and uid disagree", `{"version":1,"step":3,"validator_hotkey":"5V","uid_data":{"4":{"uid":5}}}` + "\n", false, nil, 1, 74},
		{"NaN is not JSON", `{"version":1,"step":3,"validator_hotkey":"5V","uid_data":{"4":{"uid":4,"average_loss":NaN}}}` + "\n", false, nil, 1, 93},
		{"an overlong line is skipped whole", long + "\n" + good + "\n", false, []int64{1}, 1, len(long) + len(good) + 2},
	} {
		t.Run(c.name, func(t *testing.T) {
			b, err := ReadStepLog(strings.NewReader(c.in), c.final)
			if err != nil {
				t.Fatal(err)
			}
			var steps []int64
			for _, r := range b.Records {
				steps = append(steps, r.Step)
			}
			if len(steps) != len(c.steps) || (len(steps) > 0 && steps[0] != c.steps[0]) || b.Skipped != c.skipped || b.Consumed != int64(c.consumed) {
				t.Errorf("ReadStepLog = steps %v skipped %d consumed %d, want %v %d %d (warnings %q)",
					steps, b.Skipped, b.Consumed, c.steps, c.skipped, c.consumed, b.Warnings)
			}
			if len(b.Warnings) != min(b.Skipped, maxWarnings) {
				t.Errorf("%d warnings for %d skipped lines", len(b.Warnings), b.Skipped)
			}
		})
	}
}

func TestStepStore(t *testing.T) {
	st := stepStore{max: 3}
	rec := func(hotkey string, step int64, block int64) validator.StepRecord {
		return validator.StepRecord{ValidatorHotkey: hotkey, Step: step, Block: chainBlock(block)}
	}
	st.add([]validator.StepRecord{rec("b", 5, 1), rec("a", 2, 1), rec("a", 1, 1), rec("a", 3, 1)})
	st.add([]validator.StepRecord{rec("a", 2, 9), rec("a", 4, 1)}) // step 2 again replaces it
	var got []string
	for _, r := range st.all() {
		got = append(got, r.ValidatorHotkey+string(rune('0'+r.Step))+string(rune('0'+r.Block)))
	}
	// "a" keeps its last three steps in order, step 2 as re-sent; then "b".
	if want := "a29 a31 a41 b51"; strings.Join(got, " ") != want {
		t.Errorf("store = %v, want %s", got, want)
	}
	// New validators beyond the bound are dropped; known ones still get records.
	var many []validator.StepRecord
	for i := range maxStepValidators {
		many = append(many, rec(fmt.Sprint("v", i), 1, 1))
	}
	if dropped := st.add(many); dropped != 2 {
		t.Errorf("adding %d validators to a store of 2 dropped %d, want 2", maxStepValidators, dropped)
	}
	if dropped := st.add([]validator.StepRecord{rec("a", 7, 1)}); dropped != 0 || len(st.byValid) != maxStepValidators {
		t.Errorf("a known validator's record dropped %d; store holds %d validators", dropped, len(st.byValid))
	}
}

func chainBlock(b int64) chain.Block { return chain.Block(b) }
