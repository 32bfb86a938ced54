//go:build amd64 && !purego

package kernels

// amxVariant is the AMX variant where it runs, else nil.
func amxVariant() *Variant {
	if amx.Supported {
		return amx
	}
	return nil
}

func amxUnavailable() error { return amxErr }
