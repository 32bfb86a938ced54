package localchain

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/pretrain/pretrain/chain"
	"github.com/pretrain/pretrain/wallet"
)

// The multi-process test re-runs this test binary as child processes (TestHelperProcess)
// that write to one chain file at once, kills some with SIGKILL while they write, and then
// checks that every write a child reported as returned is in the file and that the file is
// intact. Children run for stressDuration (LOCALCHAIN_STRESS=30s for a longer run).

const helperEnv = "LOCALCHAIN_HELPER"

func stressDuration() time.Duration {
	if d, err := time.ParseDuration(os.Getenv("LOCALCHAIN_STRESS")); err == nil {
		return d
	}
	return 3 * time.Second
}

// TestHelperProcess is a child's body; it does nothing in a normal test run.
func TestHelperProcess(t *testing.T) {
	spec := os.Getenv(helperEnv)
	if spec == "" {
		t.Skip("helper process only")
	}
	// spec: role,path,name,durationMS
	f := strings.Split(spec, ",")
	d, _ := strconv.Atoi(f[3])
	if err := helper(f[0], f[1], f[2], time.Duration(d)*time.Millisecond); err != nil {
		fmt.Println("error", err)
		os.Exit(3)
	}
	os.Exit(0)
}

func helper(role, path, name string, d time.Duration) error {
	ctx := context.Background()
	c, err := Open(ctx, Config{Path: path})
	if err != nil {
		return err
	}
	defer c.Close()
	k, err := wallet.FromURI("//" + name)
	if err != nil {
		return err
	}
	cold, _ := wallet.FromURI("//Cold")
	out := bufio.NewWriter(os.Stdout)
	defer out.Flush()
	end := time.Now().Add(d)
	for seq := 1; time.Now().Before(end); seq++ {
		switch role {
		case "miner":
			if err := c.Commit(ctx, k, 9, fmt.Sprintf("%s:%d", name, seq)); err != nil {
				return err
			}
		case "validator":
			m, err := c.Metagraph(ctx, 9)
			if err != nil {
				return err
			}
			if err := c.SetWeights(ctx, k, 9, []chain.UID{chain.UID(m.N - 1), chain.UID(m.N - 2)},
				[]uint16{uint16(seq%1000 + 1), 1000}, 0); err != nil {
				return err
			}
		case "committer": // commit-reveal on subnet 10: one commit a block at most
			err := c.SetWeights(ctx, k, 10, []chain.UID{1, 2}, []uint16{uint16(seq%1000 + 1), 1000}, 0)
			if errors.Is(err, chain.ErrRateLimited) {
				seq--
				time.Sleep(2 * time.Millisecond)
				continue
			}
			if err != nil {
				return err
			}
		case "registrar":
			nk, _ := wallet.FromURI(fmt.Sprintf("//%s/%d", name, seq))
			if _, err := c.Register(ctx, 9, nk.SS58(), cold.SS58()); err != nil {
				return err
			}
		case "advancer":
			if _, err := c.Advance(ctx, 1); err != nil {
				return err
			}
		}
		// The write has returned: report it, unbuffered, before the next one.
		fmt.Fprintf(out, "ok %d\n", seq)
		out.Flush()
	}
	return nil
}

func TestMultiProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns processes")
	}
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "chain.db")
	c, err := Open(ctx, Config{Path: path, Manual: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.CreateSubnet(ctx, 9, SubnetConfig{Tempo: 3, MaxUIDs: 4096, NoWeightsRateLimit: true, NoCommitRateLimit: true, NoCommitReveal: true}); err != nil {
		t.Fatal(err)
	}
	cold := key(t, "//Cold")
	names := map[string]string{"V0": "validator", "V1": "validator", "M0": "miner", "M1": "miner", "R0": "registrar",
		"A0": "advancer", "C0": "committer"}
	for _, name := range []string{"V0", "V1", "M0", "M1"} {
		if _, err := c.Register(ctx, 9, key(t, "//"+name).SS58(), cold.SS58()); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range []string{"V0", "V1"} {
		if err := c.AddStake(ctx, key(t, "//"+name).SS58(), cold.SS58(), 1e9); err != nil {
			t.Fatal(err)
		}
	}
	// Subnet 10 has commit-reveal: C0 commits while A0's blocks reveal (netuid 10, tempo 3:
	// epochs end at blocks 0, 4, 8, …).
	if err := c.CreateSubnet(ctx, 10, SubnetConfig{Tempo: 3, WeightsRateLimit: 1}); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"C0", "M0", "M1"} {
		if _, err := c.Register(ctx, 10, key(t, "//"+name).SS58(), cold.SS58()); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.AddStake(ctx, key(t, "//C0").SS58(), cold.SS58(), 1e9); err != nil {
		t.Fatal(err)
	}
	mustAdvance(t, c, 4) // epoch: validator permits
	c.Close()

	d := stressDuration()
	type child struct {
		cmd    *exec.Cmd
		last   int           // last sequence number reported
		killAt time.Duration // SIGKILL at the first write reported after this; 0: never
		killed bool
		done   chan error
	}
	// Kill a miner, a validator and the registrar with SIGKILL mid-run, right after a write
	// of theirs returned, at 30%, 50% and 70% of the run.
	killAt := map[string]time.Duration{"M0": d * 3 / 10, "V1": d / 2, "R0": d * 7 / 10}
	start := time.Now()
	children := map[string]*child{}
	var mu sync.Mutex
	for name, role := range names {
		cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$")
		cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%s,%s,%s,%d", helperEnv, role, path, name, d.Milliseconds()))
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		ch := &child{cmd: cmd, killAt: killAt[name], done: make(chan error, 1)}
		children[name] = ch
		go func() {
			sc := bufio.NewScanner(stdout)
			for sc.Scan() {
				line := sc.Text()
				if n, ok := strings.CutPrefix(line, "ok "); ok {
					v, _ := strconv.Atoi(n)
					mu.Lock()
					ch.last = v
					if ch.killAt > 0 && time.Since(start) >= ch.killAt && !ch.killed {
						ch.killed = true
						cmd.Process.Signal(syscall.SIGKILL)
					}
					mu.Unlock()
				} else {
					t.Errorf("child %s: %s", name, line)
				}
			}
			ch.done <- cmd.Wait()
		}()
	}
	for name, ch := range children {
		err := <-ch.done
		if !ch.killed && err != nil {
			t.Errorf("child %s: %v", name, err)
		}
		t.Logf("child %s: %d writes (killed %v)", name, ch.last, ch.killed)
	}

	c, err = Open(ctx, Config{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var check string
	if err := c.ro.QueryRow(`PRAGMA integrity_check`).Scan(&check); err != nil || check != "ok" {
		t.Fatalf("integrity_check = %q, %v", check, err)
	}
	m, err := c.Metagraph(ctx, 9)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, hk := range m.Hotkeys {
		if seen[hk] {
			t.Errorf("hotkey %s registered twice", hk)
		}
		seen[hk] = true
	}
	// Every registration the registrar reported is there (a killed child may have one more).
	if r := children["R0"]; m.N < 4+r.last || m.N > 4+r.last+1 {
		t.Errorf("metagraph n = %d, want %d or %d", m.N, 4+r.last, 4+r.last+1)
	}
	for _, name := range []string{"M0", "M1"} {
		ch := children[name]
		cm, err := c.Commitment(ctx, 9, key(t, "//"+name).SS58())
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		seq, _ := strconv.Atoi(strings.TrimPrefix(cm.Data, name+":"))
		if seq != ch.last && !(ch.killed && seq == ch.last+1) {
			t.Errorf("%s commitment seq %d, last reported %d (killed %v)", name, seq, ch.last, ch.killed)
		}
	}
	for i, name := range []string{"V0", "V1"} {
		ch := children[name]
		row := m.Weights[i]
		if len(row) != 2 {
			t.Fatalf("%s weight row %v", name, row)
		}
		ok := false
		for _, seq := range []int{ch.last, ch.last + 1} {
			if seq == ch.last+1 && !ch.killed {
				continue
			}
			want := maxUpscaleU16([]uint16{uint16(seq%1000 + 1), 1000})
			if row[0].Weight == want[0] && row[1].Weight == want[1] {
				ok = true
			}
		}
		if !ok {
			t.Errorf("%s weights %v do not match last reported seq %d (killed %v)", name, row, ch.last, ch.killed)
		}
	}
	if a := children["A0"]; int(m.Block) != 4+a.last {
		t.Errorf("head %d, want %d after %d advances", m.Block, 4+a.last, a.last)
	}
	// Every commit C0 made is revealed once enough blocks pass, the last one last: C0's row
	// is its last reported commit's.
	cm := children["C0"]
	if cm.last == 0 {
		t.Fatal("C0 made no commit")
	}
	mustAdvance(t, c, 12)
	ws, err := c.WeightCommits(ctx, 10, key(t, "//C0").SS58())
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range ws {
		if w.Status != chain.CommitRevealed {
			t.Errorf("C0 commit %+v, want revealed", w)
		}
	}
	m10, err := c.Metagraph(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	row := m10.Weights[0]
	ok := false
	for _, seq := range []int{cm.last, cm.last + 1} {
		if seq == cm.last+1 && !cm.killed {
			continue
		}
		want := maxUpscaleU16([]uint16{uint16(seq%1000 + 1), 1000})
		if len(row) == 2 && row[0].Weight == want[0] && row[1].Weight == want[1] {
			ok = true
		}
	}
	if !ok {
		t.Errorf("C0's row %v is not its last reported commit's (seq %d)", row, cm.last)
	}
	t.Logf("C0: %d commits reported, %d recorded, last revealed at %d", cm.last, len(ws), ws[len(ws)-1].Resolved)
}
