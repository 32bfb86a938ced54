// Package localchain is the embedded chain: one SQLite file that many processes (validators,
// miners, the leaderboard, the admin CLI) open at once. It keeps a block clock, subnets,
// registrations, stake, commitments and weights, reveals timelocked weight commits with its
// own beacon where a subnet has commit-reveal (see commitreveal.go), and runs Yuma Consensus
// every tempo blocks exactly as subtensor does (see yuma.go), so the metagraph a validator
// reads has real incentive, dividends and emission.
//
// Every write is one SQLite transaction taken with BEGIN IMMEDIATE in WAL mode with
// synchronous=FULL: a process killed at any moment loses nothing it saw committed, and the
// other processes never see half a write.
//
// Blocks advance either with wall-clock time (one block per BlockTime since genesis; any
// process that touches the chain first produces the blocks that are due, running their
// epochs) or, for tests and scripted demos, only by Advance.
package localchain

import (
	"cmp"
	"context"
	crand "crypto/rand"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"time"

	"github.com/pretrain/pretrain/chain"
	"github.com/pretrain/pretrain/chain/timelock"
	"golang.org/x/crypto/blake2b"
)

// Config configures Open.
type Config struct {
	// Path of the SQLite file; created if missing.
	Path string
	// BlockTime is the block interval of a new chain file (default 12 s, subtensor's). An
	// existing file keeps the interval it was created with.
	BlockTime time.Duration
	// Manual creates a chain whose blocks advance only by Advance (tests, scripted demos).
	Manual bool
	// Now is the clock (default time.Now); tests inject their own.
	Now func() time.Time
	// CallTimeout bounds each call that has no earlier deadline (default 30 s).
	CallTimeout time.Duration
	// BusyTimeout is how long a write waits for another process's write (default 10 s).
	BusyTimeout time.Duration
	// Logger receives events (nil: discard).
	Logger *slog.Logger
}

// Validate reports a config that cannot work.
func (c Config) Validate() error {
	switch {
	case c.Path == "":
		return errors.New("localchain config: empty path")
	case c.BlockTime < 0:
		return fmt.Errorf("localchain config: negative block time %v", c.BlockTime)
	case c.CallTimeout < 0 || c.BusyTimeout < 0:
		return errors.New("localchain config: negative timeout")
	}
	return nil
}

// Chain is a handle on a local chain file. It is safe for concurrent use, and any number of
// processes may hold one on the same file.
type Chain struct {
	rw, ro      *sql.DB
	now         func() time.Time
	callTimeout time.Duration
	log         *slog.Logger

	seed      [32]byte
	genesis   time.Time
	blockTime time.Duration // 0: manual

	beaconKey timelock.SecretKey // the commit-reveal beacon's (commitreveal.go)
	beaconPub timelock.PublicKey
}

var (
	_ chain.Chain              = (*Chain)(nil)
	_ chain.WeightCommitReader = (*Chain)(nil)
)

// Errors of the admin operations.
var (
	ErrAlreadyRegistered = errors.New("hotkey already registered")
	ErrSubnetExists      = errors.New("subnet exists")
)

// Open opens or creates the chain file at cfg.Path.
func Open(ctx context.Context, cfg Config) (*Chain, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	c := &Chain{
		now:         cfg.Now,
		callTimeout: cmp.Or(cfg.CallTimeout, 30*time.Second),
		log:         cmp.Or(cfg.Logger, slog.New(slog.DiscardHandler)).With("component", "localchain"),
	}
	if cfg.Now == nil {
		c.now = time.Now
	}
	var err error
	c.rw, c.ro, err = openDB(cfg.Path, cmp.Or(cfg.BusyTimeout, 10*time.Second))
	if err != nil {
		return nil, err
	}
	if err := c.init(ctx, cfg); err != nil {
		c.Close()
		return nil, fmt.Errorf("open local chain %s: %w", cfg.Path, err)
	}
	return c, nil
}

func (c *Chain) init(ctx context.Context, cfg Config) error {
	ctx, cancel := context.WithTimeout(ctx, c.callTimeout)
	defer cancel()
	err := c.write(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, schema); err != nil {
			return fmt.Errorf("create schema: %w", err)
		}
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM meta`).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return nil
		}
		var seed [32]byte
		if _, err := crand.Read(seed[:]); err != nil {
			return err
		}
		bt := cmp.Or(cfg.BlockTime, 12*time.Second)
		if cfg.Manual {
			bt = 0
		}
		for k, v := range map[string]any{
			metaVersion: schemaVersion, metaHead: 0, metaSeed: seed[:],
			metaGenesisMS: c.now().UnixMilli(), metaBlockTimeMS: bt.Milliseconds(),
		} {
			if err := setMeta(ctx, tx, k, v); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	v, err := getMetaInt(ctx, c.ro, metaVersion)
	if err != nil {
		return err
	}
	if v != schemaVersion {
		return fmt.Errorf("schema version %d, want %d", v, schemaVersion)
	}
	var seed []byte
	if err := c.ro.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = ?`, metaSeed).Scan(&seed); err != nil || len(seed) != 32 {
		return fmt.Errorf("meta %s: bad value (%v)", metaSeed, err)
	}
	copy(c.seed[:], seed)
	c.beaconKey = timelock.NewSecretKey(append([]byte("pretrain localchain beacon\x00"), c.seed[:]...))
	c.beaconPub = c.beaconKey.PublicKey()
	g, err := getMetaInt(ctx, c.ro, metaGenesisMS)
	if err != nil {
		return err
	}
	bt, err := getMetaInt(ctx, c.ro, metaBlockTimeMS)
	if err != nil {
		return err
	}
	c.genesis, c.blockTime = time.UnixMilli(g), time.Duration(bt)*time.Millisecond
	return nil
}

// Close closes the file handles.
func (c *Chain) Close() error {
	return errors.Join(c.rw.Close(), c.ro.Close())
}

// Manual reports whether blocks advance only by Advance.
func (c *Chain) Manual() bool { return c.blockTime == 0 }

// write runs fn in one immediate transaction, committing if it returns nil. When other
// processes keep the write lock past the busy timeout (SQLite's busy handler is not fair, so
// one writer can starve under heavy contention), it tries again with a growing pause until
// ctx ends.
func (c *Chain) write(ctx context.Context, fn func(tx *sql.Tx) error) error {
	pause := 5 * time.Millisecond
	for {
		tx, err := c.rw.BeginTx(ctx, nil)
		if err == nil {
			if err := fn(tx); err != nil {
				tx.Rollback()
				return err
			}
			if err = tx.Commit(); err == nil {
				return nil
			}
			tx.Rollback()
			if !isBusy(err) {
				return fmt.Errorf("commit: %w", err)
			}
		} else if !isBusy(err) {
			return fmt.Errorf("begin: %w", err)
		}
		c.log.Debug("database busy, retrying", "err", err)
		t := time.NewTimer(pause + time.Duration(rand.Int64N(int64(pause))))
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("write: %w (last: %v)", ctx.Err(), err)
		case <-t.C:
		}
		pause = min(2*pause, 200*time.Millisecond)
	}
}

// isBusy reports SQLITE_BUSY or SQLITE_LOCKED (any extended code).
func isBusy(err error) bool {
	var e interface{ Code() int }
	if errors.As(err, &e) {
		switch e.Code() & 0xff {
		case 5, 6:
			return true
		}
	}
	return false
}

// read runs fn in one read transaction: a consistent snapshot.
func (c *Chain) read(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := c.ro.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin read: %w", err)
	}
	defer tx.Rollback()
	return fn(tx)
}

// timeout applies CallTimeout to a call.
func (c *Chain) timeout(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, c.callTimeout)
}

// clockHead is the block due now by the wall clock.
func (c *Chain) clockHead() int64 {
	if c.blockTime == 0 {
		return 0
	}
	d := c.now().Sub(c.genesis)
	if d < 0 {
		return 0
	}
	return int64(d / c.blockTime)
}

// sync produces the blocks the clock says are due. Called before every operation; in manual
// mode it does nothing.
func (c *Chain) sync(ctx context.Context) error {
	if c.blockTime == 0 {
		return nil
	}
	target := c.clockHead()
	head, err := getMetaInt(ctx, c.ro, metaHead)
	if err != nil {
		return err
	}
	if head >= target {
		return nil
	}
	return c.write(ctx, func(tx *sql.Tx) error { return c.advanceTo(ctx, tx, target) })
}

// maxAdvance bounds one Advance: all its epochs run in one write transaction.
const maxAdvance = 10_000_000

// Advance produces n blocks now, running the epochs due on the way, and returns the new
// head. It works in either mode; with a wall clock the clock's later blocks still come.
func (c *Chain) Advance(ctx context.Context, n int64) (chain.Block, error) {
	ctx, cancel := c.timeout(ctx)
	defer cancel()
	if n < 0 || n > maxAdvance {
		return 0, fmt.Errorf("advance %d blocks: %w", n, chain.ErrInvalid)
	}
	if err := c.sync(ctx); err != nil {
		return 0, err
	}
	var head int64
	err := c.write(ctx, func(tx *sql.Tx) error {
		h, err := getMetaInt(ctx, tx, metaHead)
		if err != nil {
			return err
		}
		head = h + n
		return c.advanceTo(ctx, tx, head)
	})
	if err != nil {
		return 0, fmt.Errorf("advance: %w", err)
	}
	return chain.Block(head), nil
}

// advanceTo moves the head to target inside tx, running at each block what subtensor's
// block step runs there, in its order: the reveal of matured weight commits
// (commitreveal.go), then each subnet's epoch where it falls, at blocks b with
// (b + netuid + 1) mod (tempo + 1) == tempo (blocks_until_next_epoch in run_coinbase.rs).
// Only blocks where either happens are visited.
func (c *Chain) advanceTo(ctx context.Context, tx *sql.Tx, target int64) error {
	head, err := getMetaInt(ctx, tx, metaHead)
	if err != nil {
		return err
	}
	if target <= head {
		return nil
	}
	subnets, err := loadSubnets(ctx, tx)
	if err != nil {
		return err
	}
	byNetUID := make(map[uint16]subnet, len(subnets))
	for _, s := range subnets {
		byNetUID[s.NetUID] = s
	}
	pending, err := loadPending(ctx, tx)
	if err != nil {
		return err
	}
	for from := head + 1; ; {
		if err := ctx.Err(); err != nil {
			return err
		}
		b := target + 1 // the next block where something happens
		for _, s := range subnets {
			if s.Tempo > 0 {
				b = min(b, nextEpochBlock(s.NetUID, s.Tempo, from))
			}
		}
		for _, p := range pending {
			if s, ok := byNetUID[p.netuid]; ok {
				b = min(b, dueBlock(s, p, from))
			}
		}
		if b > target {
			break
		}
		if pending, err = c.revealCommits(ctx, tx, byNetUID, b, pending); err != nil {
			return fmt.Errorf("reveal weight commits at block %d: %w", b, err)
		}
		for _, s := range subnets {
			if s.Tempo > 0 && nextEpochBlock(s.NetUID, s.Tempo, b) == b {
				if err := c.epoch(ctx, tx, s, b); err != nil {
					return fmt.Errorf("epoch netuid %d block %d: %w", s.NetUID, b, err)
				}
			}
		}
		from = b + 1
	}
	return setMeta(ctx, tx, metaHead, target)
}

// nextEpochBlock is the first block at or after from where subnet netuid (tempo > 0) runs
// its epoch: subtensor's blocks_until_next_epoch(netuid, tempo, b) == 0, i.e.
// (b + netuid + 1) mod (tempo + 1) == tempo.
func nextEpochBlock(netuid, tempo uint16, from int64) int64 {
	period := int64(tempo) + 1
	r := (from + int64(netuid) + 1) % period
	return from + (int64(tempo)-r+period)%period
}

// CurrentBlock returns the head block.
func (c *Chain) CurrentBlock(ctx context.Context) (chain.Block, error) {
	ctx, cancel := c.timeout(ctx)
	defer cancel()
	if err := c.sync(ctx); err != nil {
		return 0, fmt.Errorf("current block: %w", err)
	}
	h, err := getMetaInt(ctx, c.ro, metaHead)
	if err != nil {
		return 0, fmt.Errorf("current block: %w", err)
	}
	return chain.Block(h), nil
}

// BlockHash returns blake2b-256(genesis seed ‖ le64(b)) for blocks up to the head: a
// deterministic, unpredictable-before-genesis hash per block of this chain file.
func (c *Chain) BlockHash(ctx context.Context, b chain.Block) (chain.Hash, error) {
	head, err := c.CurrentBlock(ctx)
	if err != nil {
		return chain.Hash{}, err
	}
	if b < 0 || b > head {
		return chain.Hash{}, fmt.Errorf("block hash %d (head %d): %w", b, head, chain.ErrNotFound)
	}
	var msg [40]byte
	copy(msg[:32], c.seed[:])
	binary.LittleEndian.PutUint64(msg[32:], uint64(b))
	return chain.Hash(blake2b.Sum256(msg[:])), nil
}

// Info describes the file, for the admin CLI.
type Info struct {
	Head      chain.Block
	Genesis   time.Time
	BlockTime time.Duration // 0: manual
	Subnets   []uint16
}

// Info returns the chain's head, clock and subnets.
func (c *Chain) Info(ctx context.Context) (Info, error) {
	head, err := c.CurrentBlock(ctx)
	if err != nil {
		return Info{}, err
	}
	ctx, cancel := c.timeout(ctx)
	defer cancel()
	info := Info{Head: head, Genesis: c.genesis, BlockTime: c.blockTime}
	err = c.read(ctx, func(tx *sql.Tx) error {
		subs, err := loadSubnets(ctx, tx)
		for _, s := range subs {
			info.Subnets = append(info.Subnets, s.NetUID)
		}
		return err
	})
	return info, err
}

// Exists reports whether a chain file exists at path.
func Exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
