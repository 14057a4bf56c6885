package logging

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer safe to read while a Writer writes to it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestWriterKeepsEveryLineInOrder(t *testing.T) {
	tests := []struct {
		name  string
		lines []string
	}{
		{"short lines", []string{"a\n", "b\n", "c\n"}},
		{"a line larger than the buffer", []string{"a\n", strings.Repeat("x", maxBuffered+1) + "\n", "c\n"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out syncBuffer
			w := NewWriter(&out)
			for _, line := range tt.lines {
				if n, err := w.Write([]byte(line)); n != len(line) || err != nil {
					t.Fatalf("Write = %d, %v", n, err)
				}
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			if got, want := out.String(), strings.Join(tt.lines, ""); got != want {
				t.Fatalf("output is %d bytes, want the %d written, in order", len(got), len(want))
			}
		})
	}
}

func TestWriterWritesWithoutClose(t *testing.T) {
	var out syncBuffer
	w := NewWriter(&out)
	defer func() { _ = w.Close() }()
	_, _ = w.Write([]byte("line\n"))
	deadline := time.Now().Add(5 * time.Second)
	for out.String() != "line\n" {
		if time.Now().After(deadline) {
			t.Fatal("an idle Writer held its line")
		}
		time.Sleep(time.Millisecond)
	}
}

func TestWriterConcurrentWrites(t *testing.T) {
	var out syncBuffer
	w := NewWriter(&out)
	const writers, lines = 8, 500
	var wg sync.WaitGroup
	for i := range writers {
		wg.Go(func() {
			for j := range lines {
				_, _ = fmt.Fprintf(w, "%d %d\n", i, j)
			}
		})
	}
	wg.Wait()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	// Each writer's lines come out whole and in the order it wrote them.
	next := make([]int, writers)
	for _, line := range strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n") {
		var i, j int
		if _, err := fmt.Sscanf(line, "%d %d", &i, &j); err != nil {
			t.Fatalf("line %q: %v", line, err)
		}
		if j != next[i] {
			t.Fatalf("writer %d: line %d after line %d", i, j, next[i]-1)
		}
		next[i]++
	}
	for i, n := range next {
		if n != lines {
			t.Fatalf("writer %d: %d lines, want %d", i, n, lines)
		}
	}
}

func TestWriterAfterClose(t *testing.T) {
	var out syncBuffer
	w := NewWriter(&out)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	_, _ = w.Write([]byte("late\n"))
	if out.String() != "late\n" {
		t.Fatalf("a write after Close gave %q", out.String())
	}
}
