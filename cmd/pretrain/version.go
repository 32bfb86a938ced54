package main

import "runtime/debug"

// versionString is the module version, the VCS revision and the Go toolchain from the build
// info (a build with -buildvcs=false has no revision: its version reads "(devel)").
func versionString() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	v := "pretrain " + bi.Main.Version
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			v += " " + s.Value
		case "vcs.modified":
			if s.Value == "true" {
				v += " (modified)"
			}
		}
	}
	return v + " " + bi.GoVersion
}
