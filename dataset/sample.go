package dataset

import (
	"fmt"
	"math"

	"github.com/pretrain/pretrain/pyrand"
)

// This file holds the reference's page arithmetic as pure functions of the RNG
// (SubsetLoader._sample_pages, SubsetFineWebEdu2Loader.get_random_pages in pretrain/dataset.py).

// SimplePages draws the pages of a simple loader (Falcon, Pes2oX, FineMath, InfiWebMath,
// Stack v1/v2): [random.randint(1, max_pages) for _ in range(num_pages)], each a row offset.
func SimplePages(r *pyrand.Rand, maxPages int64, numPages int) ([]int64, error) {
	pages := make([]int64, 0, max(numPages, 0))
	for range numPages {
		p, err := r.RandInt(1, maxPages)
		if err != nil {
			return nil, fmt.Errorf("sample page: randint(1, %d): %w", maxPages, err)
		}
		pages = append(pages, p)
	}
	return pages, nil
}

// FineWebConfig is one entry of the reference's configs_data.
type FineWebConfig struct {
	Config  string `json:"config"`
	NumRows int64  `json:"num_rows"`
	Split   string `json:"split"`
}

// FineWebConfigs builds configs_data from /size as the reference's dict comprehension does:
// entries with config "default" are skipped; a repeated config keeps its first position and
// takes the later entry's num_rows and split (Python dict semantics).
func FineWebConfigs(s *Size) []FineWebConfig {
	var out []FineWebConfig
	index := map[string]int{}
	for _, sp := range s.Splits {
		if sp.Config == "default" {
			continue
		}
		c := FineWebConfig{Config: sp.Config, NumRows: sp.NumRows, Split: sp.Split}
		if i, ok := index[sp.Config]; ok {
			out[i] = c
			continue
		}
		index[sp.Config] = len(out)
		out = append(out, c)
	}
	return out
}

// FineWebInitialOffset draws initial_offset = random.randint(0, num_rows_per_page - 1).
func FineWebInitialOffset(r *pyrand.Rand) int64 {
	v, _ := r.RandInt(0, RowsPerPage-1) // a constant, non-empty range
	return v
}

// FineWebRandomPage draws one page as get_random_pages(num_pages=1, initial_offset):
// cfg = random.choice(configs); rows = num_rows - initial_offset; n = (rows + 1) // 50;
// start = initial_offset + random.randint(0, n - 1) * 50. An empty config list or a config
// with too few rows is an error, as the reference raises there.
func FineWebRandomPage(r *pyrand.Rand, configs []FineWebConfig, initialOffset int64) (Page, error) {
	return fineWebPage(r, configs, initialOffset, RowsPerPage)
}

// fineWebPage is FineWebRandomPage for any page size (the reference tests use 100).
func fineWebPage(r *pyrand.Rand, configs []FineWebConfig, initialOffset, rowsPerPage int64) (Page, error) {
	i, err := r.Choice(len(configs))
	if err != nil {
		return Page{}, fmt.Errorf("sample page: no configs to choose from: %w", err)
	}
	c := configs[i]
	if c.NumRows > math.MaxInt64/2 || c.NumRows < math.MinInt64/2 {
		return Page{}, fmt.Errorf("sample page: config %s: num_rows %d out of range", c.Config, c.NumRows)
	}
	rows := c.NumRows - initialOffset
	n := floorDiv(rows+1, rowsPerPage)
	k, err := r.RandInt(0, n-1)
	if err != nil {
		return Page{}, fmt.Errorf("sample page: config %s with %d rows: randint(0, %d): %w", c.Config, c.NumRows, n-1, err)
	}
	return Page{Config: c.Config, Offset: initialOffset + k*rowsPerPage, Split: c.Split}, nil
}

// floorDiv is Python's // on ints (rounds toward negative infinity).
func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

// PageName is the reference's get_page_names entry: the offset for simple loaders and
// "{cfg}_{start}_{split}" for FineWeb-style loaders.
func (s Spec) PageName(p Page) string {
	if s.FineWebStyle {
		return fmt.Sprintf("%s_%d_%s", p.Config, p.Offset, p.Split)
	}
	return fmt.Sprint(p.Offset)
}
