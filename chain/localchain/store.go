package localchain

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"time"

	_ "modernc.org/sqlite" // pure-Go SQLite driver "sqlite"

	"github.com/pretrain/pretrain/chain"
)

// schemaVersion is stored in meta; Open refuses files of another version.
const schemaVersion = 2

// schema is the chain's whole state. Every table is keyed the way subtensor's storage maps
// are (netuid, uid); u16 proportions are stored as integers in 0..65535.
const schema = `
CREATE TABLE IF NOT EXISTS meta (
	key   TEXT PRIMARY KEY,
	value ANY NOT NULL
) STRICT;
CREATE TABLE IF NOT EXISTS subnets (
	netuid                 INTEGER PRIMARY KEY,
	tempo                  INTEGER NOT NULL,
	max_uids               INTEGER NOT NULL,
	max_validators         INTEGER NOT NULL,
	kappa                  INTEGER NOT NULL,
	bonds_penalty          INTEGER NOT NULL,
	bonds_moving_average   INTEGER NOT NULL,
	activity_cutoff        INTEGER NOT NULL,
	stake_threshold        INTEGER NOT NULL,
	weights_rate_limit     INTEGER NOT NULL,
	weights_version_key    INTEGER NOT NULL,
	min_allowed_weights    INTEGER NOT NULL,
	max_weights_limit      INTEGER NOT NULL,
	commit_rate_limit      INTEGER NOT NULL,
	immunity_period        INTEGER NOT NULL,
	emission_per_block     INTEGER NOT NULL,
	owner_hotkey           TEXT NOT NULL,
	yuma3                  INTEGER NOT NULL DEFAULT 0,
	liquid_alpha           INTEGER NOT NULL DEFAULT 0,
	alpha_low              INTEGER NOT NULL DEFAULT 45875,
	alpha_high             INTEGER NOT NULL DEFAULT 58982,
	alpha_steepness        INTEGER NOT NULL DEFAULT 1000,
	commit_reveal          INTEGER NOT NULL DEFAULT 1,
	reveal_period_epochs   INTEGER NOT NULL DEFAULT 1,
	created_block          INTEGER NOT NULL,
	last_epoch_block       INTEGER NOT NULL DEFAULT -1
) STRICT;
CREATE TABLE IF NOT EXISTS neurons (
	netuid            INTEGER NOT NULL,
	uid               INTEGER NOT NULL,
	hotkey            TEXT NOT NULL,
	coldkey           TEXT NOT NULL,
	registered_block  INTEGER NOT NULL,
	last_update       INTEGER NOT NULL,
	weights_set_block INTEGER NOT NULL DEFAULT -1,
	validator_permit  INTEGER NOT NULL DEFAULT 0,
	active            INTEGER NOT NULL DEFAULT 1,
	rank              INTEGER NOT NULL DEFAULT 0,
	trust             INTEGER NOT NULL DEFAULT 0,
	validator_trust   INTEGER NOT NULL DEFAULT 0,
	consensus         INTEGER NOT NULL DEFAULT 0,
	incentive         INTEGER NOT NULL DEFAULT 0,
	dividends         INTEGER NOT NULL DEFAULT 0,
	emission          INTEGER NOT NULL DEFAULT 0,
	pruning_score     INTEGER NOT NULL DEFAULT 0,
	stake_weight      INTEGER NOT NULL DEFAULT 0,
	PRIMARY KEY (netuid, uid),
	UNIQUE (netuid, hotkey)
) STRICT;
CREATE TABLE IF NOT EXISTS stake (
	hotkey  TEXT PRIMARY KEY,
	coldkey TEXT NOT NULL,
	rao     INTEGER NOT NULL
) STRICT;
CREATE TABLE IF NOT EXISTS weights (
	netuid INTEGER NOT NULL,
	uid    INTEGER NOT NULL,
	pos    INTEGER NOT NULL,
	dest   INTEGER NOT NULL,
	weight INTEGER NOT NULL,
	PRIMARY KEY (netuid, uid, pos)
) STRICT;
CREATE TABLE IF NOT EXISTS bonds (
	netuid INTEGER NOT NULL,
	uid    INTEGER NOT NULL,
	pos    INTEGER NOT NULL,
	dest   INTEGER NOT NULL,
	bond   INTEGER NOT NULL,
	PRIMARY KEY (netuid, uid, pos)
) STRICT;
CREATE TABLE IF NOT EXISTS weight_commits (
	id            INTEGER PRIMARY KEY,
	netuid        INTEGER NOT NULL,
	hotkey        TEXT NOT NULL,
	epoch         INTEGER NOT NULL,
	commit_block  INTEGER NOT NULL,
	reveal_round  INTEGER NOT NULL,
	ciphertext    BLOB NOT NULL,
	status        TEXT NOT NULL DEFAULT 'pending',
	outcome_block INTEGER NOT NULL DEFAULT -1,
	reason        TEXT NOT NULL DEFAULT ''
) STRICT;
CREATE INDEX IF NOT EXISTS weight_commits_by_status ON weight_commits (status, netuid, epoch);
CREATE INDEX IF NOT EXISTS weight_commits_by_hotkey ON weight_commits (netuid, hotkey, id);
CREATE TABLE IF NOT EXISTS commitments (
	netuid INTEGER NOT NULL,
	hotkey TEXT NOT NULL,
	data   BLOB NOT NULL,
	block  INTEGER NOT NULL,
	PRIMARY KEY (netuid, hotkey)
) STRICT;
`

// openDB opens the SQLite file twice: a writer handle whose transactions take the write
// lock at BEGIN (BEGIN IMMEDIATE, so two processes never deadlock upgrading read locks) and a
// reader handle for snapshot reads. WAL lets readers run beside the one writer; the busy
// timeout makes a process wait for another's write instead of failing; synchronous=FULL
// makes a committed transaction survive a crash of the process or the machine.
func openDB(path string, busy time.Duration) (rw, ro *sql.DB, err error) {
	// SQLite takes an empty file for a new database, so a command meant for an existing chain
	// would silently start a new one there; a live chain's file always has its header (the
	// first page is written when the schema is created). Nor is a FIFO or device a chain.
	if fi, err := os.Stat(path); err == nil && (!fi.Mode().IsRegular() || fi.Size() == 0) {
		return nil, nil, fmt.Errorf("open %s: an empty or special file (%v), not a local chain: %w", path, fi.Mode(), chain.ErrInvalid)
	}
	dsn := func(txlock string) string {
		q := url.Values{}
		q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busy.Milliseconds()))
		q.Add("_pragma", "journal_mode(WAL)")
		q.Add("_pragma", "synchronous(FULL)")
		q.Add("_txlock", txlock)
		return "file:" + (&url.URL{Path: path}).EscapedPath() + "?" + q.Encode()
	}
	rw, err = sql.Open("sqlite", dsn("immediate"))
	if err != nil {
		return nil, nil, fmt.Errorf("open %s: %w", path, err)
	}
	ro, err = sql.Open("sqlite", dsn("deferred"))
	if err != nil {
		rw.Close()
		return nil, nil, fmt.Errorf("open %s: %w", path, err)
	}
	return rw, ro, nil
}

// meta keys.
const (
	metaVersion     = "schema_version"
	metaHead        = "head"
	metaSeed        = "genesis_seed"
	metaGenesisMS   = "genesis_unix_ms"
	metaBlockTimeMS = "block_time_ms" // 0: manual blocks
)

func getMetaInt(ctx context.Context, q querier, key string) (int64, error) {
	var v int64
	if err := q.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = ?`, key).Scan(&v); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return 0, fmt.Errorf("meta %s: missing (not a local chain file?)", key)
		}
		return 0, fmt.Errorf("meta %s: %w", key, err)
	}
	return v, nil
}

func setMeta(ctx context.Context, tx *sql.Tx, key string, v any) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO meta(key, value) VALUES(?, ?)
		ON CONFLICT(key) DO UPDATE SET value = excluded.value`, key, v)
	if err != nil {
		return fmt.Errorf("set meta %s: %w", key, err)
	}
	return nil
}

// querier is what reads need from *sql.DB or *sql.Tx.
type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}
