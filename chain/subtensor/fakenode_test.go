package subtensor

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/gorilla/websocket"
)

// fakeNode is a loopback JSON-RPC websocket server that answers with captured finney
// traffic: a table of (method, params) -> response from one capture seed, storage reads
// served from the storage values captured in that seed (block hash ignored: a seed is one
// block), and per-test handlers for what the captures lack (metadata, submissions).
type fakeNode struct {
	t       testing.TB
	srv     *httptest.Server
	mu      sync.Mutex
	table   map[string]json.RawMessage   // normalized call -> {"result":…} or {"error":…}
	single  map[string][]json.RawMessage // method -> its captured answers
	storage map[string]*string           // lowercase 0x key -> value (nil: absent)
	handle  map[string]func(params []json.RawMessage, notify func(any)) (any, *jsonErr)
	log     []string
}

type jsonErr struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
	Data    string `json:"data,omitempty"`
}

func newFakeNode(t testing.TB, c captures, seed string) *fakeNode {
	n := &fakeNode{t: t, table: map[string]json.RawMessage{}, single: map[string][]json.RawMessage{},
		storage: map[string]*string{}, handle: map[string]func([]json.RawMessage, func(any)) (any, *jsonErr){}}
	for method, calls := range c[seed] {
		for params, resp := range calls {
			n.table[normCall(method, json.RawMessage(params))] = resp
			n.single[method] = append(n.single[method], resp)
			var r struct{ Result json.RawMessage }
			json.Unmarshal(resp, &r)
			var ps []json.RawMessage
			json.Unmarshal([]byte(params), &ps)
			switch method {
			case "state_getStorageAt", "state_getStorage":
				var key string
				var val *string
				json.Unmarshal(ps[0], &key)
				json.Unmarshal(r.Result, &val)
				n.storage[strings.ToLower(key)] = val
			case "state_queryStorageAt":
				var sets []struct{ Changes [][2]*string }
				json.Unmarshal(r.Result, &sets)
				for _, s := range sets {
					for _, ch := range s.Changes {
						n.storage[strings.ToLower(*ch[0])] = ch[1]
					}
				}
			}
		}
	}
	up := websocket.Upgrader{}
	n.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer conn.Close()
		conn.SetReadLimit(8 << 20)
		var wmu sync.Mutex
		write := func(v any) {
			wmu.Lock()
			defer wmu.Unlock()
			conn.WriteJSON(v)
		}
		for {
			_, msg, err := conn.ReadMessage()
			if err != nil {
				return
			}
			var req struct {
				ID     json.RawMessage   `json:"id"`
				Method string            `json:"method"`
				Params []json.RawMessage `json:"params"`
			}
			if err := json.Unmarshal(msg, &req); err != nil {
				t.Errorf("fake node: bad request %s", msg)
				return
			}
			// Notifications a handler makes are sent after its response, as a node's are.
			subID := "0x" + strings.Repeat("ab", 8)
			var pending []any
			notify := func(status any) {
				pending = append(pending, map[string]any{"jsonrpc": "2.0", "method": "author_extrinsicUpdate",
					"params": map[string]any{"subscription": subID, "result": status}})
			}
			result, jerr := n.answer(req.Method, req.Params, notify)
			if jerr == nil && len(pending) > 0 {
				result = subID
			}
			resp := map[string]any{"jsonrpc": "2.0", "id": req.ID}
			if jerr != nil {
				resp["error"] = jerr
			} else {
				resp["result"] = result
			}
			write(resp)
			for _, p := range pending {
				write(p)
			}
		}
	}))
	t.Cleanup(n.srv.Close)
	return n
}

func (n *fakeNode) url() string { return "ws" + strings.TrimPrefix(n.srv.URL, "http") }

func (n *fakeNode) methods() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]string(nil), n.log...)
}

// normCall canonicalizes a call for lookup: the node treats 0x-prefixed and bare hex alike,
// hex case does not matter, and trailing null parameters are the same as absent ones.
func normCall(method string, params json.RawMessage) string {
	var ps []any
	json.Unmarshal(params, &ps)
	if ps == nil {
		ps = []any{}
	}
	for len(ps) > 0 && ps[len(ps)-1] == nil {
		ps = ps[:len(ps)-1]
	}
	for i, p := range ps {
		if s, ok := p.(string); ok {
			ps[i] = strings.TrimPrefix(strings.ToLower(s), "0x")
		}
	}
	b, _ := json.Marshal(ps)
	if method == "state_getStorageAt" {
		method = "state_getStorage"
	}
	return method + string(b)
}

func (n *fakeNode) answer(method string, params []json.RawMessage, notify func(any)) (any, *jsonErr) {
	n.mu.Lock()
	n.log = append(n.log, method)
	h := n.handle[method]
	n.mu.Unlock()
	if h != nil {
		return h(params, notify)
	}
	str := func(i int) string {
		var s string
		if i < len(params) {
			json.Unmarshal(params[i], &s)
		}
		return strings.ToLower(s)
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	raw, _ := json.Marshal(params)
	resp, ok := n.table[normCall(method, raw)]
	if !ok {
		// Storage reads the capture lacks verbatim are served from the seed's storage.
		switch method {
		case "state_getStorage", "state_getStorageAt":
			return n.storage[str(0)], nil
		case "state_queryStorageAt":
			var keys []string
			json.Unmarshal(params[0], &keys)
			var changes [][2]*string
			for _, k := range keys {
				k := strings.ToLower(k)
				changes = append(changes, [2]*string{&k, n.storage[k]})
			}
			return []any{map[string]any{"block": str(1), "changes": changes}}, nil
		case "state_getKeysPaged":
			var count int
			json.Unmarshal(params[1], &count)
			prefix, start := str(0), str(2)
			var keys []string
			for k := range n.storage {
				if strings.HasPrefix(k, prefix) && k > start {
					keys = append(keys, k)
				}
			}
			sort.Strings(keys)
			return keys[:min(count, len(keys))], nil
		}
	}
	if !ok && len(n.single[method]) == 1 && (method == "state_getRuntimeVersion" || method == "chain_getHead") {
		resp, ok = n.single[method][0], true // one block per seed
	}
	if !ok {
		return nil, &jsonErr{Code: -32601, Message: "not in fixtures: " + method + " " + string(raw)}
	}
	var r struct {
		Result json.RawMessage
		Error  *jsonErr
	}
	if err := json.NewDecoder(bytes.NewReader(resp)).Decode(&r); err != nil {
		n.t.Errorf("fake node: captured response %.100s: %v", resp, err)
	}
	if r.Error != nil {
		return nil, r.Error
	}
	return r.Result, nil
}

// on installs a handler for method.
func (n *fakeNode) on(method string, h func(params []json.RawMessage, notify func(any)) (any, *jsonErr)) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.handle[method] = h
}

// serveMetadata answers Metadata_metadata_at_version with a captured blob and passes other
// state_calls to the capture table.
func (n *fakeNode) serveMetadata(blob []byte) {
	n.on("state_call", func(params []json.RawMessage, _ func(any)) (any, *jsonErr) {
		var name string
		json.Unmarshal(params[0], &name)
		if name == "Metadata_metadata_at_version" {
			return hex0x(blob), nil
		}
		raw, _ := json.Marshal(params)
		n.mu.Lock()
		resp, ok := n.table[normCall("state_call", raw)]
		n.mu.Unlock()
		if !ok {
			return nil, &jsonErr{Code: -32601, Message: "not in fixtures: state_call " + string(raw)}
		}
		var r struct{ Result json.RawMessage }
		json.Unmarshal(resp, &r)
		return r.Result, nil
	})
}
