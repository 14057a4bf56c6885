package logging

import (
	"bytes"
	"io"
	"unicode/utf8"
)

// lineWriter keeps every record on one line for any reader. A JSON encoder
// escapes newlines, quotes and invalid UTF-8, but may write U+0085 (NEL),
// U+2028 and U+2029 as they are: valid JSON, yet JavaScript and many line
// readers (Python's str.splitlines among them) end a line there. lineWriter
// writes them escaped (\u0085, \u2028, \u2029), which decodes to the same
// string. They can stand only inside a JSON string, so the escape is always
// valid there, and records without them pass through untouched.
type lineWriter struct {
	w io.Writer
}

func (lw lineWriter) Write(p []byte) (int, error) {
	// 0xC2 and 0xE2 lead the UTF-8 encodings of U+0085 and U+2028/U+2029.
	if bytes.IndexByte(p, 0xc2) < 0 && bytes.IndexByte(p, 0xe2) < 0 {
		return lw.w.Write(p)
	}
	b := make([]byte, 0, len(p)+16)
	start := 0
	for i := 0; i < len(p); {
		r, size := utf8.DecodeRune(p[i:])
		var esc string
		switch r {
		case '\u0085':
			esc = `\u0085`
		case '\u2028':
			esc = `\u2028`
		case '\u2029':
			esc = `\u2029`
		}
		if esc != "" {
			b = append(b, p[start:i]...)
			b = append(b, esc...)
			start = i + size
		}
		i += size
	}
	b = append(b, p[start:]...)
	if _, err := lw.w.Write(b); err != nil {
		return 0, err
	}
	return len(p), nil
}

// Sync syncs the underlying writer, when it can be.
func (lw lineWriter) Sync() error {
	if s, ok := lw.w.(interface{ Sync() error }); ok {
		return s.Sync()
	}
	return nil
}
