//go:build amd64 && !purego

package kernels

import (
	"errors"

	"golang.org/x/sys/cpu"
)

// amxErr says why the AMX kernel cannot run here, nil when it can: the CPU must have
// AMX-TILE and AMX-BF16 and the OS must grant the process the tile state (amxPermit).
var amxErr = func() error {
	if !cpu.X86.HasAMXTile || !cpu.X86.HasAMXBF16 {
		return errors.New("the CPU has no AMX-TILE and AMX-BF16")
	}
	return amxPermit()
}()

// gemmKernelBF16AMX adds the mr x nr product of a row-major A panel (mr rows of kp words,
// kp a multiple of amxPairs) and a packed B panel into c, through AMX tiles.
func gemmKernelBF16AMX(kp int, a, b *uint32, c *float32, ldc int) {
	var out [mr * nr]float32
	amxTileBF16(&amxConfig, kp, a, b, &out)
	pc := unsafeSlice(c, (mr-1)*ldc+nr)
	for i := range mr {
		row := pc[i*ldc : i*ldc+nr]
		for j := range row {
			row[j] += out[i*nr+j]
		}
	}
}
