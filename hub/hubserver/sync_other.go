//go:build !linux

package hubserver

import (
	"fmt"
	"os"
)

// syncFiles makes files durable, an fsync each (Linux does it with one syncfs).
func syncFiles(paths []string) error {
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			return fmt.Errorf("sync files: %w", err)
		}
		err = f.Sync()
		f.Close()
		if err != nil {
			return fmt.Errorf("sync files: %w", err)
		}
	}
	return nil
}
