package validator

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pretrain/pretrain/chain"
	"github.com/pretrain/pretrain/competition"
)

// TestWandBRequests runs the W&B client against a loopback server that checks what the
// reference's validator sends: basic auth with the key, a run per 100 steps named
// validator-{uid}-{date} with the reference's config, and history rows with the reference's
// keys and an original_format_json that parses.
func TestWandBRequests(t *testing.T) {
	var mu sync.Mutex
	var runs []map[string]any
	var rows []map[string]any
	completes := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, key, ok := r.BasicAuth()
		if !ok || user != "api" || key != "secret-key" {
			http.Error(w, "auth", http.StatusUnauthorized)
			return
		}
		var body map[string]any
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			http.Error(w, "json", http.StatusBadRequest)
			return
		}
		mu.Lock()
		defer mu.Unlock()
		switch {
		case r.URL.Path == "/graphql":
			if !strings.Contains(body["query"].(string), "upsertBucket") {
				http.Error(w, "query", http.StatusBadRequest)
				return
			}
			vars := body["variables"].(map[string]any)
			runs = append(runs, vars)
			json.NewEncoder(w).Encode(map[string]any{"data": map[string]any{"upsertBucket": map[string]any{
				"bucket": map[string]any{"name": vars["name"]}}}})
		case strings.HasPrefix(r.URL.Path, "/files/macrocosmos/pretraining-validators/") && strings.HasSuffix(r.URL.Path, "/file_stream"):
			if body["complete"] == true {
				completes++
				return
			}
			f := body["files"].(map[string]any)["wandb-history.jsonl"].(map[string]any)
			for _, line := range f["content"].([]any) {
				var row map[string]any
				if err := json.Unmarshal([]byte(line.(string)), &row); err != nil {
					http.Error(w, "row", http.StatusBadRequest)
					return
				}
				rows = append(rows, row)
			}
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	wb := &WandB{Endpoint: srv.URL, APIKey: "secret-key", Entity: "macrocosmos", Project: "pretraining-validators", Version: "4.6.2"}
	uid := chain.UID(7)
	loss, block := 3.25, chain.Block(100)
	rec := &StepRecord{Version: StepLogVersion, ValidatorUID: &uid, ValidatorHotkey: "5Hot", Block: 1000,
		CompetitionID: competition.Local, Seed: "42", Pages: []string{"pretrain/demo-corpus:demo:0_50_train"},
		Timestamp: time.Unix(1_700_000_000, 0), UIDs: []chain.UID{3, 4},
		UIDData: map[string]UIDRec{
			"3": {UID: 3, Block: &block, HF: "a/b", CompetitionID: competition.Local, AverageLoss: &loss, WinRate: 1, WinTotal: 1, Weight: 0.99},
			"4": {UID: 4, HF: "Unknown", CompetitionID: competition.Local, Reason: "boom"},
		}}
	for range 101 {
		if err := wb.Log(context.Background(), rec); err != nil {
			t.Fatal(err)
		}
	}
	if len(runs) != 2 || completes != 1 || len(rows) != 101 {
		t.Fatalf("%d runs, %d completions, %d rows; want a new run after 100 steps", len(runs), completes, len(rows))
	}
	if name := runs[0]["displayName"].(string); !regexp.MustCompile(`^validator-7-\d{4}-\d\d-\d\d_\d\d-\d\d-\d\d$`).MatchString(name) {
		t.Errorf("run name %q", name)
	}
	var cfg map[string]map[string]any
	if err := json.Unmarshal([]byte(runs[0]["config"].(string)), &cfg); err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]any{"uid": "7", "hotkey": "5Hot", "type": "validator", "validator version": "4.6.2"} {
		if cfg[k]["value"] != want {
			t.Errorf("config %s = %v, want %v", k, cfg[k]["value"], want)
		}
	}
	r := rows[0]
	for _, k := range []string{"time", "step_competition_id", "block", "uid_data", "uid_epsilon_adv", "win_rate_data",
		"win_total_data", "weight_data", "competition_weight_data", "competition_id", "load_model_perf",
		"compute_model_perf", "load_data_perf", "original_format_json", "_step"} {
		if _, ok := r[k]; !ok {
			t.Errorf("row lacks %q", k)
		}
	}
	if r["uid_data"].(map[string]any)["4"] != "inf" || r["uid_data"].(map[string]any)["3"] != 3.25 {
		t.Errorf("uid_data %v", r["uid_data"])
	}
	var orig map[string]any
	if err := json.Unmarshal([]byte(r["original_format_json"].(string)), &orig); err != nil {
		t.Fatal(err)
	}
	d := orig["uid_data"].(map[string]any)["3"].(map[string]any)
	if d["average_loss"] != 3.25 || d["hf"] != "a/b" || d["block"] != 100.0 || orig["seed"] != 42.0 {
		t.Errorf("original_format_json uid 3: %v", d)
	}
	if rows[100]["_step"] != 0.0 || rows[99]["_step"] != 99.0 {
		t.Errorf("_step of rows 99 and 100: %v %v (a new run restarts at 0)", rows[99]["_step"], rows[100]["_step"])
	}
}
