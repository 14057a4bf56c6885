package logging

import (
	"io"
	"runtime"
	"sync"
)

// maxBuffered bounds the lines a Writer holds: past it, Write waits for the
// output, so a slow one slows the service rather than growing its memory.
const maxBuffered = 256 << 10

// Writer batches the log lines bound for an output. A goroutine of its own
// writes out what is buffered as soon as it gets to run: a busy service makes
// one write system call for many lines instead of one for each, and an idle
// one writes each line at once. No line is dropped; Close writes out the rest.
type Writer struct {
	out  io.Writer
	done chan struct{}

	writeMu sync.Mutex // held while writing to out, so lines keep their order
	spare   []byte     // the buffer last written out, reused; guarded by writeMu

	mu     sync.Mutex
	buf    []byte
	wake   chan struct{} // closed by Close; sent to under mu
	closed bool
}

// NewWriter returns a Writer to out. Close it to write out its last lines.
func NewWriter(out io.Writer) *Writer {
	w := &Writer{out: out, done: make(chan struct{}), wake: make(chan struct{}, 1)}
	go w.run()
	return w
}

// Write buffers p and returns at once, unless the buffer is full or w is
// closed: then it writes everything buffered, and p, before returning.
func (w *Writer) Write(p []byte) (int, error) {
	w.mu.Lock()
	if w.closed || len(w.buf)+len(p) > maxBuffered {
		w.mu.Unlock()
		w.writeMu.Lock()
		defer w.writeMu.Unlock()
		if err := w.flush(); err != nil {
			return 0, err
		}
		return w.out.Write(p)
	}
	w.buf = append(w.buf, p...)
	select {
	case w.wake <- struct{}{}:
	default: // a write is already due
	}
	w.mu.Unlock()
	return len(p), nil
}

// Close writes out what is buffered and stops w's goroutine. Later writes go
// straight to the output.
func (w *Writer) Close() error {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return nil
	}
	w.closed = true
	close(w.wake)
	w.mu.Unlock()
	<-w.done
	w.writeMu.Lock()
	defer w.writeMu.Unlock()
	return w.flush()
}

func (w *Writer) run() {
	defer close(w.done)
	for range w.wake {
		// Let the goroutines that are ready to run go first: under load,
		// the lines they log join this write.
		runtime.Gosched()
		w.writeMu.Lock()
		_ = w.flush() // like slog.Logger, nowhere to report a failed log write
		w.writeMu.Unlock()
	}
}

// flush writes out the buffer. The caller holds writeMu.
func (w *Writer) flush() error {
	w.mu.Lock()
	lines := w.buf
	w.buf = w.spare[:0]
	w.mu.Unlock()
	w.spare = lines
	if len(lines) == 0 {
		return nil
	}
	_, err := w.out.Write(lines)
	return err
}
