package eval

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/pretrain/pretrain/internal/bounded"
	"github.com/pretrain/pretrain/nn"
)

// The worker protocol (`pretrain eval-worker`): the parent starts the worker, applies its
// memory limit, and writes one JSON Request line to its stdin; the worker loads the model,
// scores it on the sample file and writes one JSON Response line to stdout, then exits 0.
// Logs go to stderr, whose tail the parent keeps as the reason when the worker dies. A
// worker that exits without a response, or outlives the time limit, scores +Inf.

// Request asks a worker to score one model.
type Request struct {
	ModelDir   string `json:"model_dir"`
	SampleFile string `json:"sample_file"` // a Sample as JSON (WriteSample)
}

// Response is a worker's answer. Score is null when the model failed (JSON has no +Inf).
type Response struct {
	Score       *float64    `json:"score"`
	Failure     Failure     `json:"failure,omitempty"`
	Reason      string      `json:"reason,omitempty"`
	Tasks       []TaskScore `json:"tasks"`
	LoadSeconds float64     `json:"load_seconds"`
	EvalSeconds float64     `json:"eval_seconds"`
}

func (r Result) response() Response {
	out := Response{Failure: r.Failure, Reason: r.Reason, Tasks: r.Tasks, LoadSeconds: r.LoadSeconds, EvalSeconds: r.EvalSeconds}
	if !math.IsInf(r.Score, 0) && !math.IsNaN(r.Score) {
		out.Score = &r.Score
	}
	return out
}

func (r Response) result() Result {
	res := Result{Score: math.Inf(1), Failure: r.Failure, Reason: r.Reason, Tasks: r.Tasks, LoadSeconds: r.LoadSeconds, EvalSeconds: r.EvalSeconds}
	switch {
	case r.Score != nil && !math.IsNaN(*r.Score):
		res.Score, res.Failure = *r.Score, ""
	case res.Reason == "":
		res.Failure, res.Reason = FailCrash, "worker returned no score"
	case res.Failure == "":
		res.Failure = FailOther
	}
	return res
}

// maxSampleBytes bounds a sample file (50 batches of 4096 tokens for each of 6 tasks is
// about 8 MB of JSON).
const maxSampleBytes = 256 << 20

// WriteSample writes s where a worker can read it.
func WriteSample(path string, s *Sample) error {
	b, err := json.Marshal(s)
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o600)
}

// ReadSample reads a sample written by WriteSample.
func ReadSample(path string) (*Sample, error) {
	b, err := bounded.ReadFile(path, maxSampleBytes)
	if err != nil {
		return nil, fmt.Errorf("read sample: %w", err)
	}
	var s Sample
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("read sample %s: %w", path, err)
	}
	return &s, nil
}

// RunWorker is the worker side: one request from r, one response to w.
func RunWorker(ctx context.Context, r io.Reader, w io.Writer, log *slog.Logger) error {
	line, err := bufio.NewReader(io.LimitReader(r, 1<<20)).ReadBytes('\n')
	if err != nil && !(errors.Is(err, io.EOF) && len(line) > 0) {
		return fmt.Errorf("eval worker: read request: %w", err)
	}
	var req Request
	if err := json.Unmarshal(line, &req); err != nil {
		return fmt.Errorf("eval worker: request: %w", err)
	}
	res, err := scoreDir(ctx, req, log)
	if err != nil {
		return err
	}
	return json.NewEncoder(w).Encode(res.response())
}

func scoreDir(ctx context.Context, req Request, log *slog.Logger) (Result, error) {
	s, err := ReadSample(req.SampleFile)
	if err != nil {
		return Result{}, err
	}
	start := time.Now()
	m, err := nn.Load(req.ModelDir)
	if err != nil {
		return Failed(FailLoad, fmt.Sprintf("load model: %v", err)), nil
	}
	defer m.Close()
	load := time.Since(start).Seconds()
	log.Info("model loaded", "dir", req.ModelDir, "architecture", m.Architecture(), "params", m.ParamCount(), "seconds", load)
	res, err := Score(ctx, m, s)
	res.LoadSeconds = load
	return res, err
}

// Worker scores models in child processes: one process per model, with a time limit and a
// memory limit, so that a model that crashes, hangs or allocates without bound costs one
// +Inf score and nothing else.
type Worker struct {
	// Command runs a worker, e.g. {"/usr/bin/pretrain", "eval-worker"}.
	Command []string
	// Env is the worker's environment (nil: the parent's).
	Env []string
	// Timeout bounds one model's evaluation (the reference's ttl=550 s).
	Timeout time.Duration
	// MemoryLimit bounds the worker's data segment (heap) in bytes; 0: unlimited. The model's
	// weights are mapped read-only from their files and are not counted.
	MemoryLimit uint64
}

// DefaultTimeout is the reference's per-model evaluation ttl.
const DefaultTimeout = 550 * time.Second

// Validate checks the worker's configuration.
func (w *Worker) Validate() error {
	switch {
	case len(w.Command) == 0:
		return errors.New("eval worker: no command")
	case w.Timeout <= 0:
		return errors.New("eval worker: the timeout must be positive")
	}
	return nil
}

// stderrKeep is how much of a worker's stderr is kept for the failure reason: a Go crash
// dump starts with its reason and goes on with every goroutine's stack.
const stderrKeep = 64 << 10

// Evaluate scores the model in dir on the sample in sampleFile. A worker failure is a +Inf
// result with its reason; the error is only for ctx's cancellation.
func (w *Worker) Evaluate(ctx context.Context, dir, sampleFile string) (Result, error) {
	if err := w.Validate(); err != nil {
		return Result{}, err
	}
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, w.Timeout)
	defer cancel()
	cmd := exec.Command(w.Command[0], w.Command[1:]...)
	cmd.Env = w.Env
	// Own process group, killed with the parent: no orphan keeps a model in memory.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return Result{}, err
	}
	var stdout bytes.Buffer
	tail := &stderrLog{max: stderrKeep}
	cmd.Stdout, cmd.Stderr = &limitedWriter{w: &stdout, n: 1 << 20}, tail
	if err := cmd.Start(); err != nil {
		return Failed(FailCrash, fmt.Sprintf("start eval worker: %v", err)), nil
	}
	if w.MemoryLimit > 0 {
		lim := unix.Rlimit{Cur: w.MemoryLimit, Max: w.MemoryLimit}
		if err := unix.Prlimit(cmd.Process.Pid, unix.RLIMIT_DATA, &lim, nil); err != nil {
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			_ = cmd.Wait()
			return Failed(FailCrash, fmt.Sprintf("limit eval worker memory: %v", err)), nil
		}
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	req, _ := json.Marshal(Request{ModelDir: dir, SampleFile: sampleFile})
	go func() { // the worker reads its request only after the limit is in place
		_, _ = stdin.Write(append(req, '\n'))
		_ = stdin.Close()
	}()
	var waitErr error
	select {
	case waitErr = <-done:
	case <-ctx.Done():
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
		if parent.Err() != nil {
			return Result{}, parent.Err()
		}
		return Failed(FailTimeout, fmt.Sprintf("evaluation exceeded the time limit of %s", w.Timeout)), nil
	}
	if waitErr != nil {
		return Failed(FailCrash, fmt.Sprintf("eval worker died (%v): %s", waitErr, tail.lastLine())), nil
	}
	var resp Response
	if err := json.Unmarshal(bytes.TrimSpace(stdout.Bytes()), &resp); err != nil {
		return Failed(FailCrash, fmt.Sprintf("eval worker answered no result: %v", err)), nil
	}
	return resp.result(), nil
}

// stderrLog keeps the first max bytes written to it.
type stderrLog struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func (t *stderrLog) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if room := t.max - len(t.b); room > 0 {
		t.b = append(t.b, p[:min(len(p), room)]...)
	}
	return len(p), nil
}

// lastLine returns the most informative line: the Go runtime's "fatal error", "panic" or
// signal line when there is one, else the last line.
func (t *stderrLog) lastLine() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	lines := strings.Split(strings.TrimSpace(string(t.b)), "\n")
	for _, l := range lines {
		for _, p := range []string{"fatal error:", "panic:", "SIG", "runtime: out of memory"} {
			if strings.HasPrefix(l, p) {
				return strings.TrimSpace(l)
			}
		}
	}
	return strings.TrimSpace(lines[len(lines)-1])
}

// limitedWriter drops what exceeds n bytes, so a worker cannot fill the parent's memory.
type limitedWriter struct {
	w io.Writer
	n int64
}

func (l *limitedWriter) Write(p []byte) (int, error) {
	if l.n <= 0 {
		return len(p), nil
	}
	q := p
	if int64(len(q)) > l.n {
		q = q[:l.n]
	}
	n, err := l.w.Write(q)
	l.n -= int64(n)
	if err != nil {
		return n, err
	}
	return len(p), nil
}
