package dataset

import (
	"bufio"
	"io"
	"strconv"

	"github.com/pretrain/pretrain/internal/atomicfile"
)

// WriteBatchesJSON writes batches as one JSON array of sequences (arrays of ids), the rows of
// each batch in order: the format `pretrain eval --tokens` reads. With batch_size 1 each
// element is one batch.
func WriteBatchesJSON(w io.Writer, batches []Batch) error {
	bw := bufio.NewWriter(w)
	bw.WriteByte('[')
	first := true
	var num []byte
	for _, b := range batches {
		for _, row := range b {
			if !first {
				bw.WriteString(",\n")
			}
			first = false
			bw.WriteByte('[')
			for i, id := range row {
				if i > 0 {
					bw.WriteByte(',')
				}
				num = strconv.AppendInt(num[:0], int64(id), 10)
				bw.Write(num)
			}
			bw.WriteByte(']')
		}
	}
	bw.WriteString("]\n")
	return bw.Flush()
}

// WriteBatchesFile writes WriteBatchesJSON output to path atomically.
func WriteBatchesFile(path string, batches []Batch) error {
	return atomicfile.Write(path, 0o644, func(w io.Writer) error { return WriteBatchesJSON(w, batches) })
}
