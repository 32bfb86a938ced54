package nn

import (
	"bufio"
	"cmp"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"

	"github.com/pretrain/pretrain/internal/atomicfile"
	"github.com/pretrain/pretrain/nn/kernels"
)

// WriteSafetensors writes tensors (sorted by name) and metadata in the safetensors format,
// with the header padded by spaces to a multiple of 8 bytes so data stays aligned, as the
// reference library does.
func WriteSafetensors(w io.Writer, tensors []Tensor, metadata map[string]string) error {
	ts := slices.Clone(tensors)
	slices.SortFunc(ts, func(a, b Tensor) int { return cmp.Compare(a.Name, b.Name) })
	header := make(map[string]any, len(ts)+1)
	if len(metadata) > 0 {
		header["__metadata__"] = metadata
	}
	var off int64
	for i, t := range ts {
		if t.Name == "__metadata__" || (i > 0 && ts[i-1].Name == t.Name) {
			return fmt.Errorf("write safetensors: bad or duplicate tensor name %q", t.Name)
		}
		size, ok := dtypeSizes[t.DType]
		if !ok {
			return fmt.Errorf("write safetensors: tensor %q: unknown dtype %q", t.Name, t.DType)
		}
		if len(t.Data) != t.Numel()*size {
			return fmt.Errorf("write safetensors: tensor %q: %d bytes do not hold shape %v of %s", t.Name, len(t.Data), t.Shape, t.DType)
		}
		shape := t.Shape
		if shape == nil {
			shape = []int{}
		}
		header[t.Name] = map[string]any{"dtype": t.DType, "shape": shape, "data_offsets": [2]int64{off, off + int64(len(t.Data))}}
		off += int64(len(t.Data))
	}
	h, err := json.Marshal(header)
	if err != nil {
		return fmt.Errorf("write safetensors: %w", err)
	}
	for len(h)%8 != 0 {
		h = append(h, ' ')
	}
	bw := bufio.NewWriterSize(w, 1<<20)
	var n [8]byte
	binary.LittleEndian.PutUint64(n[:], uint64(len(h)))
	bw.Write(n[:])
	bw.Write(h)
	for _, t := range ts {
		bw.Write(t.Data)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write safetensors: %w", err)
	}
	return nil
}

// WriteSafetensorsFile writes a safetensors file atomically (see internal/atomicfile).
func WriteSafetensorsFile(path string, tensors []Tensor, metadata map[string]string) error {
	return atomicfile.Write(path, 0o644, func(w io.Writer) error {
		return WriteSafetensors(w, tensors, metadata)
	})
}

// F32Tensor, BF16Tensor and F16Tensor encode float32 values as a tensor of that dtype
// (rounding to nearest even for the 16-bit types).
func F32Tensor(name string, shape []int, v []float32) Tensor {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return Tensor{Name: name, DType: "F32", Shape: shape, Data: b}
}

// BF16Tensor encodes v as bfloat16.
func BF16Tensor(name string, shape []int, v []float32) Tensor {
	b := make([]byte, 2*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint16(b[2*i:], kernels.F32ToBF16(x))
	}
	return Tensor{Name: name, DType: "BF16", Shape: shape, Data: b}
}

// F16Tensor encodes v as IEEE half.
func F16Tensor(name string, shape []int, v []float32) Tensor {
	b := make([]byte, 2*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint16(b[2*i:], kernels.F32ToF16(x))
	}
	return Tensor{Name: name, DType: "F16", Shape: shape, Data: b}
}
