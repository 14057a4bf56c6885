package buildinfo

import (
	"runtime"
	"testing"
)

func TestRead(t *testing.T) {
	tests := []struct {
		name                    string
		linked                  [3]string // version, commit, date set by -ldflags -X
		wantVersion, wantCommit string
	}{
		{"link-time values win", [3]string{"1.2.3", "abc123", "2026-01-02T03:04:05Z"}, "1.2.3", "abc123"},
		// go test binaries record no VCS information, so the fallback ends in "unknown".
		{"fallback", [3]string{}, "", "unknown"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			saved := [3]string{version, commit, date}
			t.Cleanup(func() { version, commit, date = saved[0], saved[1], saved[2] })
			version, commit, date = tt.linked[0], tt.linked[1], tt.linked[2]

			info := Read()
			if info.GoVersion != runtime.Version() {
				t.Errorf("GoVersion = %q", info.GoVersion)
			}
			if tt.wantVersion != "" && info.Version != tt.wantVersion {
				t.Errorf("Version = %q, want %q", info.Version, tt.wantVersion)
			}
			if info.Commit != tt.wantCommit {
				t.Errorf("Commit = %q, want %q", info.Commit, tt.wantCommit)
			}
			if info.Version == "" || info.BuildDate == "" {
				t.Errorf("empty fields in %+v", info)
			}
		})
	}
}
