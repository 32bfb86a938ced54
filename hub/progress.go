package hub

import (
	"io"

	"github.com/pretrain/pretrain/internal/progress"
)

// newProgress returns the bar of one download or upload on w (see [Config.Progress]); a nil
// w gives a nil bar, which draws nothing.
func newProgress(w io.Writer, label string) *progress.Bar {
	return progress.New(w, progress.Options{Label: label, Bytes: true})
}

// progressReader counts what passes through r on a bar.
type progressReader struct {
	r   io.Reader
	bar *progress.Bar
}

func (pr *progressReader) Read(b []byte) (int, error) {
	n, err := pr.r.Read(b)
	pr.bar.Add(int64(n))
	return n, err
}
