package nn

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"unicode/utf8"
	"unsafe"

	"github.com/pretrain/pretrain/internal/bounded"
	"github.com/pretrain/pretrain/nn/kernels"
)

// Bounds on safetensors input, as the reference Rust library sets them (100 MB header) or
// generously above any real model.
const (
	maxHeaderBytes = 100_000_000
	maxTensors     = 1 << 20
	maxRank        = 8
	maxIndexBytes  = 64 << 20
	maxShards      = 10_000
)

// ErrSafetensors marks a malformed safetensors file or index.
var ErrSafetensors = errors.New("invalid safetensors")

// dtypeSizes are the element sizes of the dtypes the format defines; only F32, F16 and BF16
// can be used as weights, the others are accepted so their byte lengths can be checked.
var dtypeSizes = map[string]int{
	"BOOL": 1, "U8": 1, "I8": 1, "F8_E4M3": 1, "F8_E5M2": 1,
	"I16": 2, "U16": 2, "F16": 2, "BF16": 2,
	"I32": 4, "U32": 4, "F32": 4,
	"I64": 8, "U64": 8, "F64": 8,
}

// Tensor is one named tensor of a safetensors file. Data aliases the file's memory map and
// must not be written.
type Tensor struct {
	Name  string
	DType string // as in the header: "F32", "BF16", ...
	Shape []int
	Data  []byte
}

// Numel is the number of elements (1 for a scalar).
func (t Tensor) Numel() int {
	n := 1
	for _, d := range t.Shape {
		n *= d
	}
	return n
}

// Safetensors is an opened safetensors file, or a set of shards behind an index, with its
// tensors memory-mapped. Close releases the maps; tensors must not be used after it.
type Safetensors struct {
	tensors  map[string]Tensor
	metadata map[string]string
	unmap    []func() error
}

// Names lists the tensor names, sorted.
func (s *Safetensors) Names() []string {
	names := make([]string, 0, len(s.tensors))
	for n := range s.tensors {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// Tensor returns the named tensor.
func (s *Safetensors) Tensor(name string) (Tensor, bool) {
	t, ok := s.tensors[name]
	return t, ok
}

// Metadata is the header's __metadata__ (of the first shard when sharded).
func (s *Safetensors) Metadata() map[string]string { return s.metadata }

// Close unmaps the files.
func (s *Safetensors) Close() error {
	var errs []error
	for _, f := range s.unmap {
		errs = append(errs, f())
	}
	s.unmap = nil
	return errors.Join(errs...)
}

// ParseSafetensors parses a whole safetensors file held in buf; the tensors alias buf.
func ParseSafetensors(buf []byte) (*Safetensors, error) {
	tensors, meta, err := parseSafetensors(buf)
	if err != nil {
		return nil, err
	}
	return &Safetensors{tensors: tensors, metadata: meta}, nil
}

type headerEntry struct {
	DType       string  `json:"dtype"`
	Shape       []int64 `json:"shape"`
	DataOffsets []int64 `json:"data_offsets"`
}

func parseSafetensors(buf []byte) (map[string]Tensor, map[string]string, error) {
	if len(buf) < 8 {
		return nil, nil, fmt.Errorf("%w: file of %d bytes is shorter than the 8-byte header length", ErrSafetensors, len(buf))
	}
	n := binary.LittleEndian.Uint64(buf)
	if n > maxHeaderBytes {
		return nil, nil, fmt.Errorf("%w: header length %d exceeds %d", ErrSafetensors, n, maxHeaderBytes)
	}
	if n > uint64(len(buf)-8) {
		return nil, nil, fmt.Errorf("%w: header length %d exceeds file size %d", ErrSafetensors, n, len(buf))
	}
	header := buf[8 : 8+n]
	data := buf[8+n:]
	if !utf8.Valid(header) {
		return nil, nil, fmt.Errorf("%w: header is not UTF-8", ErrSafetensors)
	}
	if !bytes.HasPrefix(header, []byte("{")) {
		return nil, nil, fmt.Errorf("%w: header does not start with '{'", ErrSafetensors)
	}
	dec := json.NewDecoder(bytes.NewReader(header))
	if _, err := dec.Token(); err != nil {
		return nil, nil, fmt.Errorf("%w: header: %v", ErrSafetensors, err)
	}
	tensors := map[string]Tensor{}
	var meta map[string]string
	sawMeta := false
	type span struct {
		begin, end int64
		name       string
	}
	var spans []span
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, nil, fmt.Errorf("%w: header: %v", ErrSafetensors, err)
		}
		name, _ := tok.(string)
		if name == "__metadata__" {
			if sawMeta {
				return nil, nil, fmt.Errorf("%w: duplicate __metadata__", ErrSafetensors)
			}
			sawMeta = true
			if err := dec.Decode(&meta); err != nil {
				return nil, nil, fmt.Errorf("%w: __metadata__ must map strings to strings: %v", ErrSafetensors, err)
			}
			continue
		}
		if _, dup := tensors[name]; dup {
			return nil, nil, fmt.Errorf("%w: duplicate tensor %q", ErrSafetensors, name)
		}
		if len(tensors) >= maxTensors {
			return nil, nil, fmt.Errorf("%w: more than %d tensors", ErrSafetensors, maxTensors)
		}
		var e headerEntry
		if err := dec.Decode(&e); err != nil {
			return nil, nil, fmt.Errorf("%w: tensor %q: %v", ErrSafetensors, name, err)
		}
		size, ok := dtypeSizes[e.DType]
		if !ok {
			return nil, nil, fmt.Errorf("%w: tensor %q: unknown dtype %q", ErrSafetensors, name, e.DType)
		}
		if len(e.Shape) > maxRank {
			return nil, nil, fmt.Errorf("%w: tensor %q: rank %d exceeds %d", ErrSafetensors, name, len(e.Shape), maxRank)
		}
		if len(e.DataOffsets) != 2 {
			return nil, nil, fmt.Errorf("%w: tensor %q: data_offsets must have 2 entries", ErrSafetensors, name)
		}
		numel := int64(1)
		shape := make([]int, len(e.Shape))
		for i, d := range e.Shape {
			if d < 0 {
				return nil, nil, fmt.Errorf("%w: tensor %q: negative dimension %d", ErrSafetensors, name, d)
			}
			if d > 0 && numel > math.MaxInt64/int64(size)/d {
				return nil, nil, fmt.Errorf("%w: tensor %q: shape %v overflows", ErrSafetensors, name, e.Shape)
			}
			numel *= d
			shape[i] = int(d)
		}
		begin, end := e.DataOffsets[0], e.DataOffsets[1]
		if begin < 0 || end < begin || end > int64(len(data)) {
			return nil, nil, fmt.Errorf("%w: tensor %q: data_offsets [%d, %d] outside the %d data bytes", ErrSafetensors, name, begin, end, len(data))
		}
		if end-begin != numel*int64(size) {
			return nil, nil, fmt.Errorf("%w: tensor %q: %d bytes do not hold shape %v of %s", ErrSafetensors, name, end-begin, e.Shape, e.DType)
		}
		tensors[name] = Tensor{Name: name, DType: e.DType, Shape: shape, Data: data[begin:end:end]}
		spans = append(spans, span{begin, end, name})
	}
	if _, err := dec.Token(); err != nil {
		return nil, nil, fmt.Errorf("%w: header: %v", ErrSafetensors, err)
	}
	if dec.More() {
		return nil, nil, fmt.Errorf("%w: trailing data after the header object", ErrSafetensors)
	}
	if rest := bytes.TrimLeft(header[dec.InputOffset():], " \t\r\n"); len(rest) > 0 {
		return nil, nil, fmt.Errorf("%w: trailing bytes after the header object", ErrSafetensors)
	}
	// Like the reference library: the tensors tile the data section exactly, without
	// overlaps, holes or trailing bytes.
	slices.SortFunc(spans, func(a, b span) int {
		if a.begin != b.begin {
			return int(a.begin - b.begin)
		}
		return int(a.end - b.end)
	})
	var at int64
	for _, s := range spans {
		if s.begin != at {
			if s.begin < at {
				return nil, nil, fmt.Errorf("%w: tensor %q overlaps the previous tensor", ErrSafetensors, s.name)
			}
			return nil, nil, fmt.Errorf("%w: hole before tensor %q", ErrSafetensors, s.name)
		}
		at = s.end
	}
	if at != int64(len(data)) {
		return nil, nil, fmt.Errorf("%w: %d data bytes after the last tensor", ErrSafetensors, int64(len(data))-at)
	}
	return tensors, meta, nil
}

// OpenSafetensors memory-maps and parses one safetensors file.
func OpenSafetensors(path string) (*Safetensors, error) {
	buf, unmap, err := mapFile(path)
	if err != nil {
		return nil, fmt.Errorf("open safetensors %s: %w", path, err)
	}
	tensors, meta, err := parseSafetensors(buf)
	if err != nil {
		_ = unmap()
		return nil, fmt.Errorf("open safetensors %s: %w", path, err)
	}
	return &Safetensors{tensors: tensors, metadata: meta, unmap: []func() error{unmap}}, nil
}

// Names of the weight files in a Hugging Face model directory.
const (
	SafetensorsFile  = "model.safetensors"
	SafetensorsIndex = "model.safetensors.index.json"
)

// OpenSafetensorsDir opens the weights of a model directory: model.safetensors, or the shards
// listed by model.safetensors.index.json. Every tensor of the index must be in its shard, and
// no name may appear in two shards.
func OpenSafetensorsDir(dir string) (*Safetensors, error) {
	single := filepath.Join(dir, SafetensorsFile)
	if _, err := os.Stat(single); err == nil {
		return OpenSafetensors(single)
	}
	indexPath := filepath.Join(dir, SafetensorsIndex)
	raw, err := bounded.ReadFile(indexPath, maxIndexBytes)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("open weights %s: no %s or %s (only safetensors weights are supported)", dir, SafetensorsFile, SafetensorsIndex)
		}
		return nil, fmt.Errorf("open weights %s: %w", dir, err)
	}
	var index struct {
		WeightMap map[string]string `json:"weight_map"`
	}
	if err := json.Unmarshal(raw, &index); err != nil {
		return nil, fmt.Errorf("open weights %s: %w: index: %v", dir, ErrSafetensors, err)
	}
	if len(index.WeightMap) == 0 {
		return nil, fmt.Errorf("open weights %s: %w: index has an empty weight_map", dir, ErrSafetensors)
	}
	shards := map[string][]string{}
	for name, file := range index.WeightMap {
		if err := checkShardName(file); err != nil {
			return nil, fmt.Errorf("open weights %s: %w: tensor %q: %v", dir, ErrSafetensors, name, err)
		}
		shards[file] = append(shards[file], name)
	}
	if len(shards) > maxShards {
		return nil, fmt.Errorf("open weights %s: %w: %d shards exceed %d", dir, ErrSafetensors, len(shards), maxShards)
	}
	out := &Safetensors{tensors: map[string]Tensor{}}
	files := make([]string, 0, len(shards))
	for f := range shards {
		files = append(files, f)
	}
	slices.Sort(files)
	for i, f := range files {
		s, err := OpenSafetensors(filepath.Join(dir, f))
		if err != nil {
			_ = out.Close()
			return nil, fmt.Errorf("open weights %s: %w", dir, err)
		}
		out.unmap = append(out.unmap, s.unmap...)
		if i == 0 {
			out.metadata = s.metadata
		}
		for name, t := range s.tensors {
			if _, dup := out.tensors[name]; dup {
				_ = out.Close()
				return nil, fmt.Errorf("open weights %s: %w: tensor %q is in more than one shard", dir, ErrSafetensors, name)
			}
			out.tensors[name] = t
		}
		for _, name := range shards[f] {
			if _, ok := s.tensors[name]; !ok {
				_ = out.Close()
				return nil, fmt.Errorf("open weights %s: %w: index puts %q in %s, which lacks it", dir, ErrSafetensors, name, f)
			}
		}
	}
	return out, nil
}

func checkShardName(f string) error {
	if f == "" || strings.ContainsAny(f, `/\`) || f == "." || f == ".." || !strings.HasSuffix(f, ".safetensors") {
		return fmt.Errorf("bad shard file name %q", f)
	}
	return nil
}

// Mat views a 1-D or 2-D float tensor as a kernels matrix (a 1-D tensor is one row). Data
// stays in place when aligned for its dtype; otherwise it is copied once.
func (t Tensor) Mat() (kernels.Mat, error) {
	var rows, cols int
	switch len(t.Shape) {
	case 1:
		rows, cols = 1, t.Shape[0]
	case 2:
		rows, cols = t.Shape[0], t.Shape[1]
	default:
		return kernels.Mat{}, fmt.Errorf("tensor %q: rank %d, want 1 or 2", t.Name, len(t.Shape))
	}
	m := kernels.Mat{Rows: rows, Cols: cols}
	n := rows * cols
	switch t.DType {
	case "F32":
		m.DType = kernels.F32
		m.F32 = bytesAs[float32](t.Data, n)
	case "BF16":
		m.DType = kernels.BF16
		m.U16 = bytesAs[uint16](t.Data, n)
	case "F16":
		m.DType = kernels.F16
		m.U16 = bytesAs[uint16](t.Data, n)
	default:
		return kernels.Mat{}, fmt.Errorf("tensor %q: dtype %s is not a float weight type (F32, F16, BF16)", t.Name, t.DType)
	}
	return m, nil
}

// Floats widens the tensor to a fresh float32 slice.
func (t Tensor) Floats() ([]float32, error) {
	m, err := t.Mat()
	if err != nil {
		return nil, err
	}
	out := make([]float32, m.Rows*m.Cols)
	for r := range m.Rows {
		m.Row(out[r*m.Cols:(r+1)*m.Cols], r)
	}
	return out, nil
}

// bytesAs reinterprets little-endian bytes as n elements of T, copying when b is not
// aligned for T or the machine is big-endian.
func bytesAs[T float32 | uint16](b []byte, n int) []T {
	if n == 0 {
		return nil
	}
	var zero T
	size := int(unsafe.Sizeof(zero))
	if littleEndian && uintptr(unsafe.Pointer(&b[0]))%uintptr(size) == 0 {
		return unsafe.Slice((*T)(unsafe.Pointer(&b[0])), n)
	}
	out := make([]T, n)
	if littleEndian {
		copy(unsafe.Slice((*byte)(unsafe.Pointer(&out[0])), n*size), b)
		return out
	}
	for i := range out {
		switch p := any(&out[i]).(type) {
		case *float32:
			*p = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
		case *uint16:
			*p = binary.LittleEndian.Uint16(b[2*i:])
		}
	}
	return out
}

var littleEndian = func() bool {
	x := uint16(1)
	return *(*byte)(unsafe.Pointer(&x)) == 1
}()
