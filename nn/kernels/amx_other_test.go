//go:build !amd64 || purego

package kernels

import "errors"

func amxVariant() *Variant { return nil }

func amxUnavailable() error { return errors.New("no AMX kernel in this build") }
