package pycodec

import (
	"errors"
	"testing"
)

// Lookup resolves names to CPython 3.11's codec modules: expectations are
// codecs.lookup(name).incrementaldecoder.__module__, and LookupError for the rejected names
// (bytes.decode also rejects codecs that are not text encodings). Decoding itself is checked
// against CPython in dataset's TestDecodeTextCPythonVectors.
func TestLookup(t *testing.T) {
	for _, tt := range []struct{ name, want string }{
		{"Shift_JIS", "shift_jis"}, {"SJIS", "shift_jis"}, {"shift-jis", "shift_jis"}, {"CP932", "cp932"},
		{"GB2312", "gb2312"}, {"EUC-CN", "gb2312"}, {"gb18030", "gb18030"}, {"BIG5-HKSCS", "big5hkscs"},
		{"big5", "big5"}, {"EUC-KR", "euc_kr"}, {"ks_c_5601-1987", "euc_kr"}, {"UHC", "cp949"},
		{"CP949", "cp949"}, {"EUC-JP", "euc_jp"}, {"UTF-8", "utf_8"}, {"utf8", "utf_8"},
		{"UTF-8-SIG", "utf_8_sig"}, {"utf-16", "utf_16"}, {"UTF-16LE", "utf_16_le"}, {"UTF-32", "utf_32"},
		{"UTF-32BE", "utf_32_be"}, {"UTF-7", "utf_7"}, {"latin-1", "latin_1"}, {"Latin1", "latin_1"},
		{"ISO-8859-1", "latin_1"}, {"iso8859_15", "iso8859_15"}, {"windows-1252", "cp1252"},
		{"cp1252", "cp1252"}, {"TIS-620", "tis_620"}, {"tis620", "tis_620"}, {"MacRoman", "mac_roman"},
		{"macintosh", "mac_roman"}, {"KOI8-R", "koi8_r"}, {"IBM866", "cp866"}, {"ascii", "ascii"},
		{"US-ASCII", "ascii"}, {"ANSI_X3.4-1968", "ascii"}, {"646", "ascii"}, {"8859", "latin_1"},
		{"  Utf 8 ", "utf_8"}, {"ISO-2022-JP", "iso2022_jp"}, {"hz", "hz"},
	} {
		if got, err := Lookup(tt.name); err != nil || got != tt.want {
			t.Errorf("Lookup(%q) = %q, %v; want %q", tt.name, got, err, tt.want)
		}
	}
	for _, name := range []string{"Windows-31J", "utf.8", "cp-1252", "iso-8859-1.", "base64", "rot13", "aliases", "mbcs", "", "\u00fctf8", "utf-8\x00"} {
		if got, err := Lookup(name); !errors.Is(err, ErrUnknownEncoding) {
			t.Errorf("Lookup(%q) = %q, %v; want ErrUnknownEncoding", name, got, err)
		}
	}
}

func TestNormalize(t *testing.T) {
	for in, want := range map[string]string{
		"UTF-8": "utf_8", "  Utf 8 ": "utf_8", "utf--8": "utf_8", "-utf8-": "utf8", "latin+1": "latin_1",
		"iso-8859-1.": "iso_8859_1.", "utf8\u00fc": "utf8", "\u00fctf8": "tf8", "": "",
	} {
		if got := normalize(in); got != want {
			t.Errorf("normalize(%q) = %q, want %q", in, got, want)
		}
	}
}

func BenchmarkDecodeCJK(b *testing.B) {
	data := []byte("\x82\xa0\x82\xa2\x82\xa4abc\x88\x9f")
	for b.Loop() {
		if _, err := Decode(data, "shift_jis"); err != nil {
			b.Fatal(err)
		}
	}
}
