package logging

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestOutputHoldsRecordsUntilFlushed(t *testing.T) {
	record := strings.Repeat("x", 99) + "\n"
	big := strings.Repeat("y", OutputBufferSize+1)
	tests := []struct {
		name   string
		writes []string
		flush  bool
		want   string // what reached the writer
		calls  int    // in how many writes
	}{
		{"one record waits", []string{record}, false, "", 0},
		{"flush writes it", []string{record}, true, record, 1},
		{"many records, one write", []string{record, record, record}, true, record + record + record, 1},
		{"a full buffer is written first", repeat(record, OutputBufferSize/len(record)+1), false, strings.Repeat(record, OutputBufferSize/len(record)), 1},
		{"a record larger than the buffer is written at once, after the earlier", []string{record, big}, false, record + big, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var w recorder
			o := NewOutput(&w, time.Hour)
			defer func() { _ = o.Close() }()
			for _, s := range tt.writes {
				if n, err := o.Write([]byte(s)); n != len(s) || err != nil {
					t.Fatalf("Write = %d, %v", n, err)
				}
			}
			if tt.flush {
				if err := o.Flush(); err != nil {
					t.Fatal(err)
				}
			}
			if got, calls := w.String(), w.Calls(); got != tt.want || calls != tt.calls {
				t.Fatalf("writer got %d bytes in %d writes, want %d bytes in %d", len(got), calls, len(tt.want), tt.calls)
			}
		})
	}
}

func TestOutputFlushesAfterTheInterval(t *testing.T) {
	var w recorder
	o := NewOutput(&w, 20*time.Millisecond)
	defer func() { _ = o.Close() }()
	for range 2 { // the timer is armed again after it fired
		w.Reset()
		start := time.Now()
		_, _ = o.Write([]byte("record\n"))
		for w.String() == "" {
			if time.Since(start) > 5*time.Second {
				t.Fatal("the record was never written")
			}
			time.Sleep(time.Millisecond)
		}
		if waited := time.Since(start); waited < 20*time.Millisecond {
			t.Fatalf("written after %s, before the interval", waited)
		}
	}
}

func TestOutputWithoutIntervalWritesAtOnce(t *testing.T) {
	var w recorder
	o := NewOutput(&w, 0)
	_, _ = o.Write([]byte("a\n"))
	_, _ = o.Write([]byte("b\n"))
	if got := w.String(); got != "a\nb\n" || w.Calls() != 2 {
		t.Fatalf("writer got %q in %d writes", got, w.Calls())
	}
}

func TestOutputCloseFlushesAndWritesLaterRecordsAtOnce(t *testing.T) {
	var w recorder
	o := NewOutput(&w, time.Hour)
	_, _ = o.Write([]byte("before\n"))
	if err := o.Close(); err != nil {
		t.Fatal(err)
	}
	_, _ = o.Write([]byte("after\n"))
	if got := w.String(); got != "before\nafter\n" {
		t.Fatalf("writer got %q", got)
	}
}

// The loggers write warnings and errors out at once, with what was held
// before them, in order, and those that follow within UrgentFlushGap at its
// end; info records wait.
func TestLoggersFlushWarningsAndErrors(t *testing.T) {
	var w recorder
	o := NewOutput(&w, time.Hour)
	defer func() { _ = o.Close() }()
	logger, _, err := New(o, "json", "info")
	if err != nil {
		t.Fatal(err)
	}
	access := func(status int) {
		LogAccess(context.Background(), logger, Access{Time: time.Now(), Method: "GET", Route: "/r", Path: "/r", Status: status})
	}
	access(200)
	if got := w.String(); got != "" {
		t.Fatalf("an info record was written at once: %q", got)
	}
	access(503) // logged at error level
	lines := strings.Split(strings.TrimSpace(w.String()), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], "200") || !strings.Contains(lines[1], "503") {
		t.Fatalf("after an error record the writer got %q, want the info record and then it", lines)
	}
	w.Reset()
	logged := time.Now()
	ErrorLog(logger).Print("http: TLS handshake error")
	for !strings.Contains(w.String(), "TLS handshake error") {
		if time.Since(logged) > time.Second { // the interval is an hour
			t.Fatalf("a warning was held back: writer got %q", w.String())
		}
		time.Sleep(time.Millisecond)
	}
}

// A flood of errors is written once every UrgentFlushGap, not once a record,
// and none waits longer than the gap.
func TestOutputWritesAFloodOfErrorsOnceAGap(t *testing.T) {
	var w recorder
	o := NewOutput(&w, time.Hour)
	defer func() { _ = o.Close() }()
	logger, _, err := New(o, "json", "info")
	if err != nil {
		t.Fatal(err)
	}
	const records = 200
	start := time.Now()
	for i := range records {
		// 5xx access records: each a different route, so that no flood
		// limiter holds one back.
		LogAccess(context.Background(), logger, Access{Time: time.Now(), Method: "GET", Route: fmt.Sprint("/r", i), Path: "/r", Status: 503})
	}
	elapsed := time.Since(start)
	for strings.Count(w.String(), "\n") < records {
		if time.Since(start) > elapsed+time.Second {
			t.Fatalf("%d of %d error records written a second after the last", strings.Count(w.String(), "\n"), records)
		}
		time.Sleep(time.Millisecond)
	}
	// The first is written at once, then one write a gap at most.
	if most := 2 + int(elapsed/UrgentFlushGap); w.Calls() > most {
		t.Fatalf("%d error records logged in %v took %d writes, want at most %d", records, elapsed, w.Calls(), most)
	}
}

func repeat(s string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = s
	}
	return out
}

// recorder is a writer that keeps what it was given and counts the writes,
// safe for the Output's timer goroutine.
type recorder struct {
	mu    sync.Mutex
	b     strings.Builder
	calls int
}

func (r *recorder) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls++
	return r.b.Write(p)
}

func (r *recorder) String() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.b.String()
}

func (r *recorder) Calls() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.calls
}

func (r *recorder) Reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.b.Reset()
	r.calls = 0
}
