// Package buildinfo reports which binary is running: its version, the commit
// it was built from, when it was built, and by which Go toolchain.
package buildinfo

import (
	"runtime"
	"runtime/debug"
)

// The linker sets these with -ldflags "-X" (see the Makefile and the
// Dockerfile). Link-time values can only land in package-level string
// variables, so these are the service's only ones: unexported, and read
// through Read alone.
var (
	version string
	commit  string
	date    string
)

// Info describes the running binary.
type Info struct {
	Version   string `json:"version"`
	Commit    string `json:"commit"`
	BuildDate string `json:"build_date"`
	GoVersion string `json:"go_version"`
}

// Read returns the values injected at link time. A binary built without them
// (go build, go install, go run) falls back to what the Go toolchain recorded:
// the module version and the VCS revision and time.
func Read() Info {
	info := Info{Version: version, Commit: commit, BuildDate: date, GoVersion: runtime.Version()}
	if bi, ok := debug.ReadBuildInfo(); ok {
		if info.Version == "" {
			info.Version = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch {
			case s.Key == "vcs.revision" && info.Commit == "":
				info.Commit = s.Value
			case s.Key == "vcs.time" && info.BuildDate == "":
				info.BuildDate = s.Value
			}
		}
	}
	for _, field := range []*string{&info.Version, &info.Commit, &info.BuildDate} {
		if *field == "" {
			*field = "unknown"
		}
	}
	return info
}
