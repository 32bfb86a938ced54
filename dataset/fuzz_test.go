package dataset

import (
	"errors"
	"testing"
	"unicode/utf8"
)

// FuzzParseRows: any body yields a page of at most 50 object rows, or an error that is
// either retryable (not JSON) or ErrInvalidResponse; never a panic.
func FuzzParseRows(f *testing.F) {
	f.Add([]byte(rowsBody(3, "text")))
	f.Add([]byte(`{"rows":[{"row":{"text":null}}],"num_rows_total":1e3}`))
	f.Add([]byte(`{"rows":[{"row":[]}]}`))
	f.Add([]byte(`{"rows":`))
	f.Fuzz(func(t *testing.T, body []byte) {
		page, err := ParseRows(body, 50, "u")
		if err != nil {
			if !Retryable(err) && !errors.Is(err, ErrInvalidResponse) {
				t.Fatalf("unclassified error %v", err)
			}
			return
		}
		if len(page.Rows) > 50 {
			t.Fatalf("%d rows", len(page.Rows))
		}
		for _, r := range page.Rows {
			if r == nil {
				t.Fatal("nil row")
			}
		}
	})
}

// FuzzParseSize: never panics; accepted splits have no "default" config.
func FuzzParseSize(f *testing.F) {
	f.Add([]byte(`{"size":{"splits":[{"config":"a","split":"train","num_rows":10}]}}`))
	f.Add([]byte(`{"size":{"splits":[{"config":"default","split":"train","num_rows":"x"}]}}`))
	f.Add([]byte(`{"size":{"splits":[{"config":"a","split":"train","num_rows":99999999999999999999}]}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		s, err := ParseSize(body, "u")
		if err != nil {
			if !Retryable(err) && !errors.Is(err, ErrInvalidResponse) {
				t.Fatalf("unclassified error %v", err)
			}
			return
		}
		for _, sp := range s.Splits {
			if sp.Config == "default" {
				t.Fatal("default config kept")
			}
		}
	})
}

// FuzzDecodeText: never panics; UTF-8 output is valid UTF-8 of the input.
func FuzzDecodeText(f *testing.F) {
	f.Add([]byte("abc"), "UTF-8")
	f.Add([]byte{0xff, 0xfe, 'a', 0}, "UTF-16")
	f.Add([]byte{0x81, 0x40}, "Shift_JIS")
	f.Add([]byte{0x81, 0x30, 0x81, 0x30}, "GB18030")
	f.Add([]byte("\xa4\xd4\xa4\xa1\xa4\xbf\xa4\xd4"), "EUC-KR")
	f.Add([]byte("+2D3eAA-"), "UTF-7")
	f.Fuzz(func(t *testing.T, data []byte, enc string) {
		s, err := DecodeText(data, enc)
		if err == nil && !utf8.ValidString(s) {
			t.Fatalf("DecodeText(%q, %q) = %q: not valid UTF-8", data, enc, s)
		}
		if err == nil && (enc == "UTF-8" || enc == "utf-8") && s != string(data) {
			t.Fatalf("utf-8 decode changed the bytes")
		}
	})
}
