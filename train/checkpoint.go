package train

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"

	"github.com/pretrain/pretrain/internal/atomicfile"
	"github.com/pretrain/pretrain/internal/bounded"
	"github.com/pretrain/pretrain/nn"
	"github.com/pretrain/pretrain/tokenizer"
)

// The state file holds everything a run needs to continue exactly: the float32 master
// weights, AdamW's moments and step, the data position and the best held-out loss. It is
// written atomically, so a killed run finds either the previous state or the new one.
//
// Layout: the 8-byte magic, a little-endian uint32 header length, the JSON [State] header,
// then for each parameter in header order its values, first moments and second moments as
// little-endian float32.
const (
	stateMagic = "PTTRAIN\x00"
	// StateVersion is the layout version this build writes and reads.
	StateVersion = 1
	// StateFile is the state file's name in a run directory.
	StateFile     = "trainer_state.bin"
	maxHeaderSize = 16 << 20
	// maxSeconds bounds the stored times, so that they convert to a time.Duration (~292 years).
	maxSeconds = 1e9
)

// State is the header of a state file.
type State struct {
	Version int `json:"version"`
	// Config is the model's config.json.
	Config json.RawMessage `json:"config"`
	// Step is the number of optimizer steps taken; Windows the number of training windows
	// consumed (the data position, see [Order]).
	Step    int64  `json:"step"`
	Windows int64  `json:"windows"`
	Seed    uint64 `json:"seed"`
	// Data and Tokenizer name the token stream; SeqLen, Batch and Accum fix what a window
	// and a step are. A resumed run must keep them all.
	Data      string `json:"data"`
	Tokenizer string `json:"tokenizer"`
	SeqLen    int    `json:"seq_len"`
	Batch     int    `json:"batch"`
	Accum     int    `json:"accum"`
	// Total is the step schedule's length (0: none). Budget is the time plan's length in
	// seconds, which the learning rate follows when Total is 0 ([TimeSchedule]); with
	// neither (a state from before time plans) the rate stays constant after warm-up. Both
	// are fixed when a run starts. Elapsed is the training time spent so far in seconds,
	// across resumes: a resumed run continues the time plan and the --minutes budget from it.
	Total   int64   `json:"total"`
	Budget  float64 `json:"budget_seconds,omitempty"`
	Elapsed float64 `json:"elapsed_seconds,omitempty"`
	// BestLoss is the best held-out loss so far, +Inf before the first evaluation (stored
	// as best_loss, null for +Inf, which JSON cannot hold).
	BestLoss float64  `json:"-"`
	Best     *float64 `json:"best_loss"`
	AdamStep int64    `json:"adam_step"`
	Params   []struct {
		Name  string `json:"name"`
		Shape []int  `json:"shape"`
	} `json:"params"`
}

// WriteState atomically writes the run's state to path.
func WriteState(path string, st *State, m *Model, opt *AdamW) error {
	st.Version = StateVersion
	st.AdamStep = opt.Step
	st.Params = st.Params[:0]
	for _, t := range m.net.params {
		st.Params = append(st.Params, struct {
			Name  string `json:"name"`
			Shape []int  `json:"shape"`
		}{t.name, t.shape})
	}
	st.Best = nil
	if !math.IsInf(st.BestLoss, 1) && !math.IsNaN(st.BestLoss) {
		st.Best = &st.BestLoss
	}
	header, err := json.Marshal(st)
	if err != nil {
		return fmt.Errorf("write state %s: %w", path, err)
	}
	err = atomicfile.Write(path, 0o644, func(w io.Writer) error {
		bw := bufio.NewWriterSize(w, 1<<20)
		bw.WriteString(stateMagic)
		binary.Write(bw, binary.LittleEndian, uint32(len(header)))
		bw.Write(header)
		for i, t := range m.net.params {
			for _, s := range [][]float32{t.data, opt.M[i], opt.V[i]} {
				if err := binary.Write(bw, binary.LittleEndian, s); err != nil {
					return err
				}
			}
		}
		return bw.Flush()
	})
	if err != nil {
		return fmt.Errorf("write state %s: %w", path, err)
	}
	return nil
}

// ReadState reads a state file into a model and optimizer built from its config (whose
// sizes nn.ParseConfig bounds); the file's length and every parameter's name and shape must
// be the ones the config implies.
func ReadState(path string, adam AdamWConfig) (*State, *Model, *AdamW, error) {
	f, err := bounded.Open(path)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("read state: %w", err)
	}
	defer f.Close()
	fail := func(err error) (*State, *Model, *AdamW, error) {
		return nil, nil, nil, fmt.Errorf("read state %s: %w", path, err)
	}
	br := bufio.NewReaderSize(f, 1<<20)
	var pre [12]byte
	if _, err := io.ReadFull(br, pre[:]); err != nil {
		return fail(err)
	}
	if string(pre[:8]) != stateMagic {
		return fail(errors.New("not a trainer state file"))
	}
	n := binary.LittleEndian.Uint32(pre[8:])
	if n > maxHeaderSize {
		return fail(fmt.Errorf("header of %d bytes exceeds %d", n, maxHeaderSize))
	}
	header := make([]byte, n)
	if _, err := io.ReadFull(br, header); err != nil {
		return fail(err)
	}
	var st State
	if err := json.Unmarshal(header, &st); err != nil {
		return fail(fmt.Errorf("header: %w", err))
	}
	if st.Version != StateVersion {
		return fail(fmt.Errorf("version %d (this build reads %d)", st.Version, StateVersion))
	}
	if st.Step < 0 || st.Windows < 0 || st.AdamStep < 0 || st.Total < 0 {
		return fail(errors.New("negative step or position"))
	}
	if !(st.Budget >= 0 && st.Elapsed >= 0) || st.Budget > maxSeconds || st.Elapsed > maxSeconds {
		return fail(fmt.Errorf("time budget %g s or elapsed time %g s out of range", st.Budget, st.Elapsed))
	}
	st.BestLoss = math.Inf(1)
	if st.Best != nil {
		st.BestLoss = *st.Best
	}
	cfg, err := nn.ParseConfig(st.Config)
	if err != nil {
		return fail(err)
	}
	fi, err := f.Stat()
	if err != nil {
		return fail(err)
	}
	m, err := newModelZero(cfg, max(0, fi.Size()-12-int64(n))/12)
	if err != nil {
		return fail(err)
	}
	if len(st.Params) != len(m.net.params) {
		return fail(fmt.Errorf("%d parameters, config implies %d", len(st.Params), len(m.net.params)))
	}
	var numel int64
	for _, t := range m.net.params {
		numel += int64(len(t.data))
	}
	if want := 12 + int64(n) + 12*numel; fi.Size() != want {
		return fail(fmt.Errorf("%d bytes, config implies %d", fi.Size(), want))
	}
	opt := NewAdamW(adam, m.Params())
	opt.Step = st.AdamStep
	for i, t := range m.net.params {
		if p := st.Params[i]; p.Name != t.name || !slices.Equal(p.Shape, t.shape) {
			return fail(fmt.Errorf("parameter %d is %q %v, config implies %q %v", i, p.Name, p.Shape, t.name, t.shape))
		}
		for _, s := range [][]float32{t.data, opt.M[i], opt.V[i]} {
			if err := binary.Read(br, binary.LittleEndian, s); err != nil {
				return fail(fmt.Errorf("parameter %s: %w", t.name, err))
			}
		}
	}
	if _, err := br.ReadByte(); err != io.EOF {
		return fail(errors.New("trailing bytes"))
	}
	return &st, m, opt, nil
}

// newModelZero builds a model of cfg with zero weights (to be filled from a state file),
// refusing before allocation once the parameters would exceed maxNumel values (< 0: no
// bound).
func newModelZero(cfg *nn.Config, maxNumel int64) (*Model, error) {
	var total int64
	net, err := newNetwork[float32](cfg, func(name string, shape []int) ([]float32, error) {
		n := int64(1)
		for _, d := range shape {
			n *= int64(d)
		}
		if total += n; maxNumel >= 0 && total > maxNumel {
			return nil, fmt.Errorf("tensor %q: config implies more than the %d values the file holds", name, maxNumel)
		}
		return make([]float32, n), nil
	})
	if err != nil {
		return nil, err
	}
	return &Model{Config: cfg, net: net}, nil
}

// WriteModelDir writes m as a Hugging Face model directory loadable by [nn.Load]:
// config.json (configJSON with torch_dtype set), model.safetensors in dtype ("F32" or
// "BF16"), generation_config.json, and tok's files (tokenizer.json, tokenizer_config.json;
// none when tok is nil).
// The directory is built beside dir and renamed into place, so dir is never half written.
func WriteModelDir(dir string, m *Model, configJSON []byte, dtype string, tok *tokenizer.Tokenizer) error {
	fail := func(err error) error { return fmt.Errorf("write model %s: %w", dir, err) }
	var cfg map[string]any
	if err := json.Unmarshal(configJSON, &cfg); err != nil {
		return fail(err)
	}
	cfg["torch_dtype"] = map[string]string{"F32": "float32", "BF16": "bfloat16"}[dtype]
	cj, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		return fail(err)
	}
	parent := filepath.Dir(dir)
	tmp, err := os.MkdirTemp(parent, "."+filepath.Base(dir)+".tmp-")
	if err != nil {
		return fail(err)
	}
	defer os.RemoveAll(tmp)
	ts, err := m.Tensors(dtype)
	if err != nil {
		return fail(err)
	}
	st := filepath.Join(tmp, nn.SafetensorsFile)
	if err := nn.WriteSafetensorsFile(st, ts, map[string]string{"format": "pt"}); err != nil {
		return fail(err)
	}
	if err := os.Chmod(st, 0o644); err != nil { // the writer's temporary file is private
		return fail(err)
	}
	gen := map[string]any{"_from_model_config": true}
	if v, ok := cfg["bos_token_id"]; ok {
		gen["bos_token_id"] = v
	}
	if v, ok := cfg["eos_token_id"]; ok {
		gen["eos_token_id"] = v
	}
	gj, _ := json.MarshalIndent(gen, "", "  ")
	files := map[string][]byte{"config.json": cj, "generation_config.json": gj}
	for name, b := range files {
		if err := atomicfile.WriteFile(filepath.Join(tmp, name), b, 0o644); err != nil {
			return fail(err)
		}
	}
	if tok != nil {
		if err := tok.WriteFiles(tmp); err != nil {
			return fail(err)
		}
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		return fail(err)
	}
	old := tmp + ".old"
	if err := os.Rename(dir, old); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fail(err)
	}
	if err := os.Rename(tmp, dir); err != nil {
		return fail(err)
	}
	os.RemoveAll(old)
	return atomicfile.SyncDir(parent)
}
