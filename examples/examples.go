// Package examples embeds the bundled demo corpus, so that a binary built from this module
// (localnet's datasets server, the quick start) needs no file beside it.
package examples

import _ "embed"

// DemoCorpus is demo-corpus-small.jsonl.gz: public-domain text in the datasets-server row
// format (one JSON object with a "text" field per line, gzip-compressed).
//
//go:embed demo-corpus-small.jsonl.gz
var DemoCorpus []byte
