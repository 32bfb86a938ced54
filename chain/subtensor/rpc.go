package subtensor

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"

	gethrpc "github.com/centrifuge/go-substrate-rpc-client/v4/gethrpc"
	"github.com/pretrain/pretrain/chain"
)

// RPCError is an error answer of the node (a JSON-RPC error object). Such answers are not
// retried: the node is reachable and has decided.
type RPCError struct {
	Method  string
	Code    int
	Message string
	Data    string
}

func (e *RPCError) Error() string {
	s := fmt.Sprintf("rpc %s: node error %d: %s", e.Method, e.Code, e.Message)
	if e.Data != "" {
		s += ": " + e.Data
	}
	return s
}

// call makes one JSON-RPC call with the configured attempts, per-call timeout and
// exponential backoff between attempts. Transport failures and timeouts are retried; node
// errors are returned at once as *RPCError.
func (c *Client) call(ctx context.Context, result any, method string, args ...any) error {
	return c.retry(ctx, method, func(ctx context.Context) error {
		ctx, cancel := context.WithTimeout(ctx, c.cfg.CallTimeout)
		defer cancel()
		return rpcErr(method, c.rpc.CallContext(ctx, result, method, args...))
	})
}

// rpcErr turns the node's JSON-RPC error answers into *RPCError.
func rpcErr(method string, err error) error {
	var re gethrpc.Error
	if err == nil || !errors.As(err, &re) {
		return err
	}
	return &RPCError{Method: method, Code: re.ErrorCode(), Message: re.Error(), Data: errorData(re)}
}

// errorData reads the "data" member of gethrpc's error object, which carries Substrate's
// reason (e.g. "Custom error: 6"); this gethrpc fork keeps it in an unexported field with no
// accessor, so it is read by reflection (String does not need an exported field).
func errorData(err error) string {
	v := reflect.ValueOf(err)
	if v.Kind() != reflect.Pointer || v.IsNil() || v.Elem().Kind() != reflect.Struct {
		return ""
	}
	f := v.Elem().FieldByName("Data")
	if !f.IsValid() || f.Kind() != reflect.Interface || f.IsNil() || f.Elem().Kind() != reflect.String {
		return ""
	}
	return f.Elem().String()
}

// retry runs op until it succeeds, fails with a node error, or attempts run out; it waits
// Backoff, 2·Backoff, ... (at most MaxBackoff) between attempts.
func (c *Client) retry(ctx context.Context, what string, op func(context.Context) error) error {
	wait := c.cfg.Backoff
	var err error
	for attempt := 1; ; attempt++ {
		if err = op(ctx); err == nil {
			return nil
		}
		var re *RPCError
		if errors.As(err, &re) || ctx.Err() != nil || attempt >= c.cfg.Attempts {
			break
		}
		c.log.Warn("rpc retry", "method", what, "attempt", attempt, "wait", wait, "err", err)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%s: %w (last error: %v)", what, ctx.Err(), err)
		case <-t.C:
		}
		wait = min(2*wait, c.cfg.MaxBackoff)
	}
	if ctx.Err() != nil {
		return fmt.Errorf("%s: %w (last error: %v)", what, ctx.Err(), err)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// Wire helpers: Substrate's JSON-RPC writes bytes and hashes as 0x-prefixed hex and block
// numbers in headers as hex quantities.

func hex0x(b []byte) string { return "0x" + hex.EncodeToString(b) }

func parseHex(s string) ([]byte, error) {
	if !strings.HasPrefix(s, "0x") {
		return nil, fmt.Errorf("hex %.16q: missing 0x", s)
	}
	return hex.DecodeString(s[2:])
}

// header is the part of a block header this client reads.
type header struct {
	Number string `json:"number"`
}

// block parses a header's hex block number (u32 on subtensor).
func (h header) block() (chain.Block, error) {
	n, err := strconv.ParseUint(strings.TrimPrefix(h.Number, "0x"), 16, 32)
	if err != nil || !strings.HasPrefix(h.Number, "0x") {
		return 0, fmt.Errorf("header number %.20q: not a u32 hex quantity", h.Number)
	}
	return chain.Block(n), nil
}

// runtimeVersion is the part of state_getRuntimeVersion this client reads.
type runtimeVersion struct {
	SpecName           string `json:"specName"`
	SpecVersion        uint32 `json:"specVersion"`
	TransactionVersion uint32 `json:"transactionVersion"`
}
