package logging

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzOneRecordPerLine: whatever a client puts in a method, a path or a
// request header, the access-log record stays one JSON object on one line, for
// any line reader, and decodes to the value logged (each byte of invalid
// UTF-8 becoming U+FFFD, as every JSON encoder writes it). `go test -fuzz
// FuzzOneRecordPerLine ./internal/logging/` looks for more than the seeds.
func FuzzOneRecordPerLine(f *testing.F) {
	for _, s := range []string{"/v1/notes/42", "a\nb\r\n", `say "hi" \ `, "\u2028\u2029 \u0085", "a\xffb\xe2\x80", "\x00\x1f\x7f", "<script>&"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var buf bytes.Buffer
		logger, _, err := New(&buf, "json", "info")
		if err != nil {
			t.Fatal(err)
		}
		LogAccess(WithRequestID(context.Background(), "req-1"), logger, Access{Method: s, Route: "/r", Path: s, Status: 200})
		line := buf.String()
		if !strings.HasSuffix(line, "\n") || strings.ContainsAny(strings.TrimSuffix(line, "\n"), "\n\r\u2028\u2029\u0085") {
			t.Fatalf("not one line: %q", line)
		}
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("not JSON: %q: %v", line, err)
		}
		want := validUTF8(s)
		if rec["path"] != want || rec["method"] != want {
			t.Fatalf("path %q, method %q, want %q", rec["path"], rec["method"], want)
		}
	})
}

// validUTF8 replaces each byte of invalid UTF-8 in s with U+FFFD.
func validUTF8(s string) string {
	var b strings.Builder
	for len(s) > 0 {
		r, size := utf8.DecodeRuneInString(s)
		b.WriteRune(r) // utf8.RuneError for an invalid byte
		s = s[size:]
	}
	return b.String()
}
