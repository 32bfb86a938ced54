//go:build !unix

package nn

func peakRSS() int64 { return 0 }
