package tokenizer

import (
	"strings"
	"testing"
)

// english returns 1 MiB of English prose: the demo corpus rows of the fixtures joined by
// blank lines, cycled (testdata/bench_tiktoken.js builds the same text).
func english(b *testing.B) string {
	var prose []string
	for _, fx := range fixtures(b) {
		if strings.HasPrefix(fx.Name, "prose/") {
			prose = append(prose, fx.Text)
		}
	}
	var s strings.Builder
	for i := 0; s.Len() < 1<<20; i = (i + 1) % len(prose) {
		s.WriteString(prose[i])
		s.WriteString("\n\n")
	}
	return s.String()
}

// BenchmarkEncode reports tokens/s on 1 MB of English, one goroutine; compare with
// testdata/bench_tiktoken.js run on the same machine at the same time.
func BenchmarkEncode(b *testing.B) {
	text := english(b)
	for _, name := range []string{"gpt2", "Xenova/gpt-4"} {
		b.Run(strings.ReplaceAll(name, "/", "_"), func(b *testing.B) {
			tok := mustLoad(b, name)
			b.SetBytes(int64(len(text)))
			n := 0
			for b.Loop() {
				n += len(tok.Encode(text, false))
			}
			b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "tokens/s")
		})
	}
}

// BenchmarkEncodeBatch is the parallel path over the same text cut into documents.
func BenchmarkEncodeBatch(b *testing.B) {
	var docs []string
	for _, fx := range fixtures(b) {
		if strings.HasPrefix(fx.Name, "prose/") {
			docs = append(docs, fx.Text)
		}
	}
	tok := mustLoad(b, "Xenova/gpt-4")
	n := 0
	for b.Loop() {
		for _, ids := range tok.EncodeBatch(docs, false) {
			n += len(ids)
		}
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "tokens/s")
}

// BenchmarkParse is the one-time cost of loading a tokenizer.json.
func BenchmarkParse(b *testing.B) {
	for _, name := range []string{"gpt2", "Xenova/gpt-4"} {
		b.Run(strings.ReplaceAll(name, "/", "_"), func(b *testing.B) {
			data := builtinJSON(b, name)
			for b.Loop() {
				if _, err := parse(data); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
