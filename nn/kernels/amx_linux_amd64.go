//go:build linux && amd64 && !purego

package kernels

import (
	"fmt"
	"syscall"
)

// amxPermit asks Linux (5.16 and later) for the AMX tile data state, which a process must
// hold before its first tile instruction: arch_prctl(ARCH_REQ_XCOMP_PERM,
// XFEATURE_XTILEDATA). The permission covers every thread of the process. The kernel refuses
// it when an alternate signal stack is too small for the signal frame with tile data (about
// 11 KiB); the Go runtime's signal stacks are 32 KiB.
func amxPermit() error {
	const archReqXcompPerm, xfeatureXTileData = 0x1023, 18
	if _, _, e := syscall.RawSyscall(syscall.SYS_ARCH_PRCTL, archReqXcompPerm, xfeatureXTileData, 0); e != 0 {
		return fmt.Errorf("arch_prctl(ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA): %w", e)
	}
	return nil
}
