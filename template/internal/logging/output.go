package logging

import (
	"io"
	"sync"
	"time"
)

// OutputBufferSize bounds what an Output holds back: 64 KiB, a few hundred
// access-log records.
const OutputBufferSize = 64 << 10

// Output is where the service's log records go. It gathers them in a buffer
// and writes many at once, so that a busy service makes one write system
// call for a few hundred records rather than one for each, as nginx's
// access_log buffer and Envoy's flush interval do.
//
// What a crash can lose is bounded: a record waits at most the flush interval
// and the buffer holds at most OutputBufferSize bytes. Every logger of this
// package flushes the Output right after a record at warn level or above, so
// the records that explain a failure are never held back; the service
// flushes it as its last shutdown step and on every way out of run. With a
// zero interval every record is written at once.
type Output struct {
	w        io.Writer
	interval time.Duration

	mu    sync.Mutex
	buf   []byte
	timer *time.Timer // flushes the buffer interval after it stopped being empty
	armed bool
}

// NewOutput returns an Output writing to w at most interval after each
// record; interval 0 writes every record at once.
func NewOutput(w io.Writer, interval time.Duration) *Output {
	o := &Output{w: w, interval: interval}
	if interval > 0 {
		o.buf = make([]byte, 0, OutputBufferSize)
		o.timer = time.AfterFunc(interval, o.flushOnTimer)
		o.timer.Stop()
	}
	return o
}

// Write holds p, one or more whole records, in the buffer, writing the buffer
// out first when p would overfill it.
func (o *Output) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.timer == nil {
		return o.w.Write(p)
	}
	if len(o.buf)+len(p) > cap(o.buf) {
		if err := o.flushLocked(); err != nil {
			return 0, err
		}
		if len(p) > cap(o.buf) {
			return o.w.Write(p)
		}
	}
	o.buf = append(o.buf, p...)
	if !o.armed {
		o.armed = true
		o.timer.Reset(o.interval)
	}
	return len(p), nil
}

// Flush writes out what the buffer holds.
func (o *Output) Flush() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.flushLocked()
}

// Close writes out what the buffer holds; records written after it are
// written at once.
func (o *Output) Close() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.timer == nil {
		return nil
	}
	o.timer.Stop()
	o.timer = nil
	return o.flushLocked()
}

func (o *Output) flushLocked() error {
	if len(o.buf) == 0 {
		return nil
	}
	_, err := o.w.Write(o.buf)
	// On an error the records are dropped: the writer is failing, and
	// nothing could report it but the log itself.
	o.buf = o.buf[:0]
	return err
}

func (o *Output) flushOnTimer() {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.armed = false
	_ = o.flushLocked()
}

// flusher is an output that holds records back until it is flushed, such as
// an Output. The loggers flush it after every record at warn level or above.
type flusher interface {
	Flush() error
}

// flushFunc returns the function that flushes w, or nil when w writes
// every record at once.
func flushFunc(w io.Writer) func() {
	f, ok := w.(flusher)
	if !ok {
		return nil
	}
	return func() { _ = f.Flush() }
}
