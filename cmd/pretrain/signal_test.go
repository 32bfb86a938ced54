package main

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// runMainEnv makes the test binary run main() instead of the tests, so that a test can run
// the real process (signals, exit status) as a child.
const runMainEnv = "PRETRAIN_TEST_RUN_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(runMainEnv) == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}

// child is the pretrain process started by startMain.
type child struct {
	cmd            *exec.Cmd
	stdout, stderr bytes.Buffer
	done           chan error
}

// startMain starts `pretrain args...` as a child process with the given stdin.
func startMain(t *testing.T, stdin io.Reader, args ...string) *child {
	t.Helper()
	c := &child{cmd: exec.Command(os.Args[0], args...), done: make(chan error, 1)}
	c.cmd.Env = append(os.Environ(), runMainEnv+"=1")
	c.cmd.Stdin, c.cmd.Stdout, c.cmd.Stderr = stdin, &c.stdout, &c.stderr
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { c.done <- c.cmd.Wait() }()
	t.Cleanup(func() {
		c.cmd.Process.Kill()
		<-c.done
	})
	return c
}

// wait returns the child's exit status; a child still running after a minute has hung
// (the defect these tests guard against), and is killed.
func (c *child) wait(t *testing.T) int {
	t.Helper()
	select {
	case <-c.done:
		c.done <- nil // for the cleanup
		return c.cmd.ProcessState.ExitCode()
	case <-time.After(time.Minute):
		t.Fatalf("%v: still running after a minute; stderr: %s", c.cmd.Args[1:], c.stderr.String())
		return 0
	}
}

// TestSignalStopsCommand: SIGINT or SIGTERM stops a command blocked on input that never
// ends, and the command exits 130 instead of hanging (or exiting 0 as if it had finished).
func TestSignalStopsCommand(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			r, w, err := os.Pipe()
			if err != nil {
				t.Fatal(err)
			}
			defer w.Close()
			c := startMain(t, r, "tokenize", "--tokenizer", "gpt2")
			r.Close()
			// More than a pipe buffers: the write returns once the child is reading stdin,
			// so its signal handler is installed.
			if _, err := w.Write(bytes.Repeat([]byte("hello world "), 1<<17)); err != nil {
				t.Fatal(err)
			}
			if err := c.cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			if code := c.wait(t); code != 130 {
				t.Errorf("exit status %d after %v, want 130; stderr: %s", code, sig, c.stderr.String())
			}
			if c.stdout.Len() != 0 {
				t.Errorf("interrupted tokenize printed %q", c.stdout.String())
			}
		})
	}
}

// TestSpecialFilesRefused: a FIFO where a command expects a file (model weights, token
// batches, a key file, a tokenizer.json) is refused with an error instead of blocking in
// open until a writer comes.
func TestSpecialFilesRefused(t *testing.T) {
	dir := t.TempDir()
	fifo := func(name string) string {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := syscall.Mkfifo(p, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tokens := filepath.Join(dir, "tokens.json")
	if err := os.WriteFile(tokens, []byte("[[[1, 2, 3]]]"), 0o644); err != nil {
		t.Fatal(err)
	}
	config, err := os.ReadFile(filepath.Join("..", "..", "nn", "testdata", "models", "llama-gqa-f32", "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	model := filepath.Join(dir, "model")
	fifo("model/model.safetensors")
	if err := os.WriteFile(filepath.Join(model, "config.json"), config, 0o644); err != nil {
		t.Fatal(err)
	}
	wallets := filepath.Join(dir, "wallets")
	if _, _, err := runCLI(t, "wallet", "new", "--wallet.path", wallets, "--wallet.name", "w"); err != nil {
		t.Fatal(err)
	}
	hotkey := filepath.Join(wallets, "w", "hotkeys", "default")
	if err := os.Remove(hotkey); err != nil {
		t.Fatal(err)
	}
	fifo("wallets/w/hotkeys/default")

	for name, args := range map[string][]string{
		"model weights": {"eval", "--model", model, "--tokens", tokens},
		"token batches": {"eval", "--model", model, "--tokens", fifo("tokens.fifo")},
		"hotkey file":   {"wallet", "show", "--wallet.path", wallets, "--wallet.name", "w"},
		"tokenizer":     {"tokenize", "--tokenizer", fifo("tokenizer.json")},
		"rank input":    {"rank", "--input", fifo("step.json")},
	} {
		t.Run(name, func(t *testing.T) {
			c := startMain(t, strings.NewReader("x"), args...)
			if code := c.wait(t); code != 1 || !strings.Contains(c.stderr.String(), "not a regular file") {
				t.Errorf("%v: exit status %d, stderr %q; want 1 and \"not a regular file\"", args, code, c.stderr.String())
			}
		})
	}
}

// TestTokenizeOutput: the streamed JSON array is the ids Encode gives, as JSON.
func TestTokenizeOutput(t *testing.T) {
	for _, in := range []string{"", "hello world", strings.Repeat("x", 5000) + " <|endoftext|> y"} {
		var out bytes.Buffer
		if err := run(t.Context(), []string{"tokenize", "--tokenizer", "gpt2"}, strings.NewReader(in), &out, io.Discard); err != nil {
			t.Fatal(err)
		}
		var ids []int32
		if err := json.Unmarshal(out.Bytes(), &ids); err != nil || !strings.HasSuffix(out.String(), "]\n") {
			t.Fatalf("tokenize %q printed %q: %v", in, out.String(), err)
		}
		var dec bytes.Buffer
		raw, _ := json.Marshal(ids)
		if err := run(t.Context(), []string{"tokenize", "--tokenizer", "gpt2", "--decode"}, bytes.NewReader(raw), &dec, io.Discard); err != nil || dec.String() != in {
			t.Errorf("decode(tokenize(%q)) = %q, %v", in, dec.String(), err)
		}
	}
}
