package leaderboard

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/pretrain/pretrain/validator"
)

// MaxStepLineBytes bounds one step log line. A step of 256 uids with a dozen tasks each is
// a few hundred KB; a longer line is skipped, not buffered.
const MaxStepLineBytes = 8 << 20

// StepLogBatch is what one read of a step log yields: the well-formed records in order, and
// how many lines were skipped with the first few reasons.
type StepLogBatch struct {
	Records []validator.StepRecord
	Skipped int
	// Warnings holds the reasons for the first maxWarnings skipped lines.
	Warnings []string
	// Consumed is how many bytes of the input were whole lines: a trailing line without its
	// newline may still be being written, so it is left for the next read.
	Consumed int64
}

const maxWarnings = 5

func (b *StepLogBatch) skip(line int, err error) {
	b.Skipped++
	if len(b.Warnings) < maxWarnings {
		b.Warnings = append(b.Warnings, fmt.Sprintf("line %d: %v", line, err))
	}
}

// ReadStepLog reads JSON lines of validator.StepRecord from r. Unknown fields are ignored;
// blank lines are skipped silently; malformed lines, lines longer than MaxStepLineBytes,
// records of a newer format version and records without a validator hotkey are skipped and
// counted. When final is false, a last line without a newline is not parsed (nor counted in
// Consumed), because a writer may be half way through it. Only an error of r is returned.
func ReadStepLog(r io.Reader, final bool) (StepLogBatch, error) {
	var b StepLogBatch
	br := bufio.NewReader(r)
	for line := 1; ; line++ {
		raw, complete, n, err := readLine(br)
		if err != nil && !errors.Is(err, io.EOF) {
			return b, err
		}
		if n == 0 && errors.Is(err, io.EOF) {
			return b, nil
		}
		if !complete && !final {
			return b, nil
		}
		b.Consumed += n
		switch {
		case raw == nil:
			b.skip(line, fmt.Errorf("longer than %d bytes", MaxStepLineBytes))
		case len(bytes.TrimSpace(raw)) == 0:
		default:
			if rec, perr := parseStepRecord(raw); perr != nil {
				b.skip(line, perr)
			} else {
				b.Records = append(b.Records, rec)
			}
		}
		if errors.Is(err, io.EOF) {
			return b, nil
		}
	}
}

// readLine returns the next line without its newline, whether it ended with one, and the bytes
// it took from br. A line over MaxStepLineBytes is consumed and returned as nil.
func readLine(br *bufio.Reader) (line []byte, complete bool, n int64, err error) {
	var buf []byte
	tooLong := false
	for {
		frag, ferr := br.ReadSlice('\n')
		n += int64(len(frag))
		if !tooLong {
			if len(buf)+len(frag) > MaxStepLineBytes+1 {
				tooLong, buf = true, nil
			} else {
				buf = append(buf, frag...)
			}
		}
		switch {
		case ferr == nil:
			if tooLong {
				return nil, true, n, nil
			}
			return buf[:len(buf)-1], true, n, nil
		case errors.Is(ferr, bufio.ErrBufferFull):
			continue
		default:
			if tooLong {
				return nil, false, n, ferr
			}
			return buf, false, n, ferr
		}
	}
}

func parseStepRecord(raw []byte) (validator.StepRecord, error) {
	var rec validator.StepRecord
	if err := json.Unmarshal(raw, &rec); err != nil {
		return rec, fmt.Errorf("not a step record: %w", err)
	}
	switch {
	case rec.Version < 1 || rec.Version > validator.StepLogVersion:
		return rec, fmt.Errorf("step log version %d, this reader knows 1 to %d", rec.Version, validator.StepLogVersion)
	case rec.ValidatorHotkey == "":
		return rec, errors.New("no validator_hotkey")
	case rec.Step < 0:
		return rec, fmt.Errorf("negative step %d", rec.Step)
	}
	for key, u := range rec.UIDData {
		if key != fmt.Sprint(u.UID) {
			return rec, fmt.Errorf("uid_data key %q holds uid %d", key, u.UID)
		}
	}
	for key, u := range rec.Rejected {
		if key != fmt.Sprint(u.UID) {
			return rec, fmt.Errorf("rejected key %q holds uid %d", key, u.UID)
		}
	}
	return rec, nil
}
