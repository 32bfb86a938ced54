package validator

import (
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/pretrain/pretrain/internal/bounded"
)

// WandB logs steps to Weights & Biases as the reference's validator does (log_step): a run
// named validator-{uid}-{%Y-%m-%d_%H-%M-%S} in entity/project with the reference's config,
// a new run every 100 steps, and per step the reference's keys (uid_data, win_rate_data,
// weight_data, the perf summaries, original_format_json, ...). It speaks W&B's HTTP API:
// the GraphQL upsertBucket mutation to create a run and the file_stream endpoint for history
// rows. The API key goes only to Endpoint.
type WandB struct {
	Endpoint string // default https://api.wandb.ai
	APIKey   string
	Entity   string // default macrocosmos
	Project  string // default pretraining-validators
	Version  string // the validator version in the run config
	HTTP     *http.Client
	Logger   *slog.Logger
	Now      func() time.Time

	mu       sync.Mutex
	run      string // the current run's id
	runStart time.Time
	steps    int // history rows in the current run
}

// maxStepsPerRun is the reference's MAX_RUN_STEPS_PER_WANDB_RUN.
const maxStepsPerRun = 100

// Validate checks the configuration.
func (w *WandB) Validate() error {
	switch {
	case w.APIKey == "":
		return errors.New("wandb: no API key (WANDB_API_KEY)")
	case w.Project == "":
		return errors.New("wandb: no project")
	}
	return nil
}

func (w *WandB) endpoint() string {
	if w.Endpoint == "" {
		return "https://api.wandb.ai"
	}
	return w.Endpoint
}

func (w *WandB) now() time.Time {
	if w.Now != nil {
		return w.Now()
	}
	return time.Now()
}

// Log sends one step, starting a run first when needed.
func (w *WandB) Log(ctx context.Context, rec *StepRecord) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.run == "" || w.steps >= maxStepsPerRun {
		if w.run != "" {
			_ = w.stream(ctx, map[string]any{"complete": true, "exitcode": 0})
		}
		if err := w.newRun(ctx, rec); err != nil {
			return err
		}
	}
	row, err := stepRow(rec)
	if err != nil {
		return err
	}
	now := w.now()
	row["_step"], row["_runtime"], row["_timestamp"] = w.steps, now.Sub(w.runStart).Seconds(), float64(now.UnixNano())/1e9
	line, err := json.Marshal(row)
	if err != nil {
		return err
	}
	if err := w.stream(ctx, map[string]any{"files": map[string]any{
		"wandb-history.jsonl": map[string]any{"offset": w.steps, "content": []string{string(line)}}}}); err != nil {
		return err
	}
	w.steps++
	return nil
}

// newRun creates a run with the reference's name and config.
func (w *WandB) newRun(ctx context.Context, rec *StepRecord) error {
	uid := "None"
	if rec.ValidatorUID != nil {
		uid = strconv.Itoa(int(*rec.ValidatorUID))
	}
	w.runStart = w.now()
	name := "validator-" + uid + "-" + w.runStart.UTC().Format("2006-01-02_15-04-05")
	id := make([]byte, 8) // a W&B run id: 8 of [a-z0-9]
	if _, err := rand.Read(id); err != nil {
		return err
	}
	for i := range id {
		id[i] = "abcdefghijklmnopqrstuvwxyz0123456789"[int(id[i])%36]
	}
	config := map[string]any{}
	for k, v := range map[string]any{"uid": uid, "hotkey": rec.ValidatorHotkey, "run_name": name,
		"version": w.Version, "validator version": w.Version, "type": "validator"} {
		config[k] = map[string]any{"value": v, "desc": nil}
	}
	cfg, _ := json.Marshal(config)
	body := map[string]any{"query": upsertBucket, "variables": map[string]any{
		"name": string(id), "displayName": name, "project": w.Project, "entity": w.Entity, "config": string(cfg),
		"jobType": "validator", "state": "running"}}
	var resp struct {
		Data struct {
			UpsertBucket struct {
				Bucket struct {
					Name string `json:"name"`
				} `json:"bucket"`
			} `json:"upsertBucket"`
		} `json:"data"`
		Errors []struct {
			Message string `json:"message"`
		} `json:"errors"`
	}
	if err := w.post(ctx, "/graphql", body, &resp); err != nil {
		return fmt.Errorf("wandb: create run: %w", err)
	}
	if len(resp.Errors) > 0 {
		return fmt.Errorf("wandb: create run: %s", resp.Errors[0].Message)
	}
	w.run, w.steps = cmp.Or(resp.Data.UpsertBucket.Bucket.Name, string(id)), 0
	w.logger().Info("wandb run started", "run", name, "id", w.run)
	return nil
}

func (w *WandB) logger() *slog.Logger {
	if w.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return w.Logger
}

func (w *WandB) stream(ctx context.Context, body map[string]any) error {
	return w.post(ctx, "/files/"+w.Entity+"/"+w.Project+"/"+w.run+"/file_stream", body, nil)
}

// post sends body as JSON with the API key (HTTP basic auth, user "api", as the wandb SDK).
func (w *WandB) post(ctx context.Context, path string, body, out any) error {
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.endpoint()+path, bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.SetBasicAuth("api", w.APIKey)
	req.Header.Set("Content-Type", "application/json")
	c := w.HTTP
	if c == nil {
		c = &http.Client{Timeout: 30 * time.Second}
	}
	res, err := c.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	data, err := bounded.ReadAll(res.Body, 1<<20)
	if err != nil {
		return err
	}
	if res.StatusCode/100 != 2 {
		return fmt.Errorf("%s: HTTP %d", path, res.StatusCode)
	}
	if out != nil {
		return json.Unmarshal(data, out)
	}
	return nil
}

const upsertBucket = `mutation UpsertBucket($id: String, $name: String, $project: String, $entity: String, $displayName: String, $config: JSONString, $jobType: String, $state: String) {
  upsertBucket(input: {id: $id, name: $name, modelName: $project, entityName: $entity, displayName: $displayName, config: $config, jobType: $jobType, state: $state}) {
    bucket { id name displayName project { name entity { name } } }
    inserted
  }
}`

// stepRow is the reference's logged dict for one step.
func stepRow(rec *StepRecord) (map[string]any, error) {
	orig, err := json.Marshal(originalFormat(rec))
	if err != nil {
		return nil, err
	}
	score, eps, wr, wt, weight, cw := map[string]any{}, map[string]any{}, map[string]any{}, map[string]any{}, map[string]any{}, map[string]any{}
	lastComp := 0
	for _, uid := range rec.UIDs {
		u := rec.UIDData[strconv.Itoa(int(uid))]
		k := strconv.Itoa(int(uid))
		score[k] = lossOrInf(u.AverageLoss)
		eps[k], wr[k], wt[k], weight[k], cw[k] = u.EpsilonAdv, u.WinRate, u.WinTotal, u.Weight, u.NormWeight
		lastComp = int(u.CompetitionID) // the reference logs only the last uid's (a bug kept)
	}
	perf := func(s Summary) map[string]float64 {
		return map[string]float64{"min": s.Min, "median": s.Median, "max": s.Max, "P90": s.P90}
	}
	row := map[string]any{
		"time": rec.Timestamp.Unix(), "step_competition_id": int(rec.CompetitionID), "block": rec.Block,
		"uid_data": score, "uid_epsilon_adv": eps, "win_rate_data": wr, "win_total_data": wt,
		"weight_data": weight, "competition_weight_data": cw, "competition_id": map[string]any{"0": lastComp},
		"load_model_perf": perf(rec.Timings.LoadModel), "compute_model_perf": perf(rec.Timings.ComputeLoss),
		"load_data_perf": perf(rec.Timings.LoadData), "original_format_json": string(orig),
	}
	for _, t := range rec.Tasks {
		m := map[string]any{}
		for _, uid := range rec.UIDs {
			if ts, ok := rec.UIDData[strconv.Itoa(int(uid))].Tasks[t.Name]; ok {
				m[strconv.Itoa(int(uid))] = lossOrInf(ts.RawScore)
			}
		}
		row[t.Name+".raw_score"] = m
	}
	return row, nil
}

// originalFormat is the reference's step_log dict.
func originalFormat(rec *StepRecord) map[string]any {
	data := map[string]any{}
	for k, u := range rec.UIDData {
		block := any("inf")
		if u.Block != nil {
			block = *u.Block
		}
		d := map[string]any{"uid": u.UID, "block": block, "hf": u.HF, "competition_id": int(u.CompetitionID),
			"average_loss": lossOrInf(u.AverageLoss), "epsilon_adv": u.EpsilonAdv, "win_rate": u.WinRate,
			"win_total": u.WinTotal, "weight": u.Weight, "norm_weight": u.NormWeight, "dataset_perf": u.DatasetPerf}
		for name, ts := range u.Tasks {
			d[name+".raw_score"] = lossOrInf(ts.RawScore)
			d[name+".norm_score"] = lossOrInf(ts.NormScore)
			d[name+".weighted_norm_score"] = lossOrInf(ts.WeightedNormScore)
		}
		data[k] = d
	}
	return map[string]any{"timestamp": rec.Timestamp.Unix(), "competition_id": int(rec.CompetitionID), "seed": json.Number(rec.Seed),
		"pages": rec.Pages, "uids": rec.UIDs, "uid_data": data}
}

// lossOrInf is a loss for JSON, with "inf" where the reference's Python json writes Infinity.
func lossOrInf(f *float64) any {
	if f == nil {
		return "inf"
	}
	return *f
}
