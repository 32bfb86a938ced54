//go:build !linux && amd64 && !purego

package kernels

import "errors"

// amxPermit: only Linux's permission request is implemented.
func amxPermit() error { return errors.New("AMX tile permission is requested on Linux only") }
