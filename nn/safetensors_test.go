package nn

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// rawFile assembles a safetensors file from a header string and a data section.
func rawFile(header string, data []byte) []byte {
	var b bytes.Buffer
	binary.Write(&b, binary.LittleEndian, uint64(len(header)))
	b.WriteString(header)
	b.Write(data)
	return b.Bytes()
}

func TestSafetensorsRoundTrip(t *testing.T) {
	in := []Tensor{
		F32Tensor("b.f32", []int{2, 3}, []float32{1, 2, 3, 4, 5, -6}),
		BF16Tensor("a.bf16", []int{3}, []float32{1, 0.5, -2}),
		F16Tensor("c.f16", []int{1, 1}, []float32{0.25}),
		{Name: "scalar", DType: "I64", Shape: []int{}, Data: make([]byte, 8)},
		{Name: "empty", DType: "F32", Shape: []int{0, 4}, Data: nil},
	}
	var buf bytes.Buffer
	if err := WriteSafetensors(&buf, in, map[string]string{"format": "pt"}); err != nil {
		t.Fatal(err)
	}
	if n := binary.LittleEndian.Uint64(buf.Bytes()); (8+n)%8 != 0 {
		t.Errorf("header length %d leaves data unaligned", n)
	}
	s, err := ParseSafetensors(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if got, want := s.Names(), []string{"a.bf16", "b.f32", "c.f16", "empty", "scalar"}; !slices.Equal(got, want) {
		t.Errorf("Names() = %v, want %v", got, want)
	}
	if s.Metadata()["format"] != "pt" {
		t.Errorf("Metadata() = %v", s.Metadata())
	}
	for _, want := range in {
		got, ok := s.Tensor(want.Name)
		if !ok || got.DType != want.DType || !slices.Equal(got.Shape, want.Shape) || !bytes.Equal(got.Data, want.Data) {
			t.Errorf("Tensor(%q) = %+v, want %+v", want.Name, got, want)
		}
	}
	f, err := s.tensors["b.f32"].Floats()
	if err != nil || !slices.Equal(f, []float32{1, 2, 3, 4, 5, -6}) {
		t.Errorf("Floats() = %v, %v", f, err)
	}
	f, _ = s.tensors["a.bf16"].Floats()
	if !slices.Equal(f, []float32{1, 0.5, -2}) {
		t.Errorf("bf16 Floats() = %v", f)
	}
}

func TestSafetensorsRejects(t *testing.T) {
	ok8 := `{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`
	tests := []struct {
		name string
		file []byte
		want string
	}{
		{"short", []byte{1, 2, 3}, "shorter than the 8-byte"},
		{"giant header length", binary.LittleEndian.AppendUint64(nil, 1<<62), "exceeds 100000000"},
		{"header past end", append(binary.LittleEndian.AppendUint64(nil, 100), '{'), "exceeds file size"},
		{"not json", rawFile(`{"a":`, nil), "EOF"},
		{"not an object", rawFile(`[1]`, nil), "start with '{'"},
		{"not utf8", rawFile("{\"\xff\":1}", nil), "UTF-8"},
		{"duplicate", rawFile(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, make([]byte, 8)), "duplicate tensor"},
		{"overlap", rawFile(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, make([]byte, 8)), "overlaps"},
		{"hole", rawFile(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, make([]byte, 8)), "hole"},
		{"trailing data", rawFile(ok8, make([]byte, 12)), "after the last tensor"},
		{"truncated", rawFile(ok8, make([]byte, 4)), "outside the 4 data bytes"},
		{"shape disagrees", rawFile(`{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}`, make([]byte, 8)), "do not hold shape"},
		{"negative dim", rawFile(`{"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}}`, make([]byte, 8)), "negative"},
		{"overflow", rawFile(`{"a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,8]}}`, make([]byte, 8)), "overflows"},
		{"unknown dtype", rawFile(`{"a":{"dtype":"Q4","shape":[2],"data_offsets":[0,8]}}`, make([]byte, 8)), "unknown dtype"},
		{"bad offsets", rawFile(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0]}}`, make([]byte, 8)), "2 entries"},
		{"reversed offsets", rawFile(`{"a":{"dtype":"F32","shape":[0],"data_offsets":[8,0]}}`, make([]byte, 8)), "outside"},
		{"rank", rawFile(`{"a":{"dtype":"F32","shape":[1,1,1,1,1,1,1,1,1],"data_offsets":[0,4]}}`, make([]byte, 4)), "rank"},
		{"metadata not strings", rawFile(`{"__metadata__":{"a":1}}`, nil), "__metadata__"},
		{"trailing json", rawFile(`{}{}`, nil), "trailing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseSafetensors(tt.file)
			if err == nil || !errors.Is(err, ErrSafetensors) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("ParseSafetensors() error = %v, want ErrSafetensors containing %q", err, tt.want)
			}
		})
	}
}

func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestSafetensorsSharded(t *testing.T) {
	dir := t.TempDir()
	if err := WriteSafetensorsFile(filepath.Join(dir, "s1.safetensors"), []Tensor{F32Tensor("x", []int{1}, []float32{1})}, nil); err != nil {
		t.Fatal(err)
	}
	if err := WriteSafetensorsFile(filepath.Join(dir, "s2.safetensors"), []Tensor{F32Tensor("y", []int{2}, []float32{2, 3})}, nil); err != nil {
		t.Fatal(err)
	}
	index := func(m map[string]string) {
		raw, _ := json.Marshal(map[string]any{"metadata": map[string]any{"total_size": 12}, "weight_map": m})
		writeFile(t, filepath.Join(dir, SafetensorsIndex), raw)
	}
	index(map[string]string{"x": "s1.safetensors", "y": "s2.safetensors"})
	s, err := OpenSafetensorsDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := s.Names(); !slices.Equal(got, []string{"x", "y"}) {
		t.Errorf("Names() = %v", got)
	}
	y, _ := s.Tensor("y")
	if f, _ := y.Floats(); !slices.Equal(f, []float32{2, 3}) {
		t.Errorf("y = %v", f)
	}
	s.Close()

	bad := []struct {
		name string
		m    map[string]string
		want string
	}{
		{"missing in shard", map[string]string{"x": "s1.safetensors", "z": "s2.safetensors"}, `lacks it`},
		{"path escape", map[string]string{"x": "../s1.safetensors"}, "bad shard file name"},
		{"not safetensors", map[string]string{"x": "pytorch_model.bin"}, "bad shard file name"},
		{"missing shard", map[string]string{"x": "s3.safetensors"}, "no such file"},
		{"empty", map[string]string{}, "empty weight_map"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			index(tt.m)
			_, err := OpenSafetensorsDir(dir)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("OpenSafetensorsDir() error = %v, want %q", err, tt.want)
			}
		})
	}
	// The same name in two shards.
	if err := WriteSafetensorsFile(filepath.Join(dir, "s3.safetensors"), []Tensor{F32Tensor("x", []int{1}, []float32{1})}, nil); err != nil {
		t.Fatal(err)
	}
	index(map[string]string{"x": "s1.safetensors", "y": "s3.safetensors"})
	if _, err := OpenSafetensorsDir(dir); err == nil || !strings.Contains(err.Error(), "more than one shard") {
		t.Errorf("duplicate across shards: error = %v", err)
	}
}

func TestOpenSafetensorsDirWithoutWeights(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "pytorch_model.bin"), []byte("pickle"))
	if _, err := OpenSafetensorsDir(dir); err == nil || !strings.Contains(err.Error(), "only safetensors") {
		t.Errorf("error = %v, want one saying only safetensors is supported", err)
	}
}

func TestTensorMatUnaligned(t *testing.T) {
	// A tensor at an odd offset is copied, not reinterpreted in place.
	raw := rawFile(`{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"b":{"dtype":"F32","shape":[2],"data_offsets":[1,9]}}`, []byte{7, 0, 0, 0x80, 0x3f, 0, 0, 0, 0x40})
	s, err := ParseSafetensors(raw)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := s.Tensor("b")
	f, err := b.Floats()
	if err != nil || !slices.Equal(f, []float32{1, 2}) {
		t.Errorf("Floats() = %v, %v; want [1 2]", f, err)
	}
	a, _ := s.Tensor("a")
	if _, err := a.Mat(); err == nil {
		t.Error("U8 tensor accepted as a weight")
	}
}

func FuzzParseSafetensors(f *testing.F) {
	var buf bytes.Buffer
	WriteSafetensors(&buf, []Tensor{F32Tensor("w", []int{2, 2}, []float32{1, 2, 3, 4}), BF16Tensor("b", []int{2}, []float32{1, 2})}, map[string]string{"k": "v"})
	f.Add(buf.Bytes())
	f.Add(rawFile(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`, make([]byte, 8)))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := ParseSafetensors(data)
		if err != nil {
			return
		}
		// Whatever parses must survive widening and a write/parse round trip.
		var ts []Tensor
		for _, n := range s.Names() {
			tt, _ := s.Tensor(n)
			if tt.DType == "F32" || tt.DType == "BF16" || tt.DType == "F16" {
				if len(tt.Shape) <= 2 {
					if _, err := tt.Floats(); err != nil {
						t.Fatalf("Floats(%q): %v", n, err)
					}
				}
			}
			ts = append(ts, tt)
		}
		var out bytes.Buffer
		if err := WriteSafetensors(&out, ts, s.Metadata()); err != nil {
			t.Fatalf("rewrite: %v", err)
		}
		s2, err := ParseSafetensors(out.Bytes())
		if err != nil {
			t.Fatalf("reparse: %v", err)
		}
		if !slices.Equal(s.Names(), s2.Names()) {
			t.Fatalf("names changed: %v -> %v", s.Names(), s2.Names())
		}
	})
}
