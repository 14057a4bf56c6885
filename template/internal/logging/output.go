package logging

import (
	"io"
	"sync"
	"time"
)

// OutputBufferSize bounds what an Output holds back: 64 KiB, a few hundred
// access-log records.
const OutputBufferSize = 64 << 10

// UrgentFlushGap is how often at most an Output writes for warn and error
// records: the first is written at once, those that follow it within the
// gap at its end, together. A flood of errors costs a write system call
// every UrgentFlushGap, not one for each record.
const UrgentFlushGap = 10 * time.Millisecond

// Output is where the service's log records go. It gathers them in a buffer
// and writes many at once, so that a busy service makes one write system
// call for a few hundred records rather than one for each, as nginx's
// access_log buffer and Envoy's flush interval do.
//
// What a crash can lose is bounded: a record waits at most the flush interval
// and the buffer holds at most OutputBufferSize bytes. Every logger of this
// package flushes the Output soon after a record at warn level or above
// (within UrgentFlushGap), so the records that explain a failure are not
// held back; the service flushes it as its last shutdown step and on every
// way out of run. With a zero interval every record is written at once.
//
// The loggers' flood limiters report to the Output: its Flush writes their
// summaries first, and Suppressed counts what they held back.
type Output struct {
	w        io.Writer
	interval time.Duration

	mu       sync.Mutex
	buf      []byte
	timer    *time.Timer // flushes the buffer when due
	armed    bool
	due      time.Time // when the armed timer fires
	urgentAt time.Time // the last write for a warn or error record

	limiters []limiter
}

// limiter is a logger's flood limiter, as the Output sees it.
type limiter interface {
	Flush()
	Suppressed() uint64
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
		o.armAt(time.Now().Add(o.interval))
	}
	return len(p), nil
}

// armAt sets the timer to flush the buffer at t.
func (o *Output) armAt(t time.Time) {
	o.armed = true
	o.due = t
	o.timer.Reset(time.Until(t))
}

// flushUrgent writes out what the buffer holds after a warn or error record:
// at once, unless the buffer was written less than UrgentFlushGap ago; then
// at the end of the gap.
func (o *Output) flushUrgent() {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.timer == nil {
		return // written already
	}
	now := time.Now()
	if o.armed && !o.due.After(now) {
		return // the timer is late: it writes the buffer any moment
	}
	if next := o.urgentAt.Add(UrgentFlushGap); now.Before(next) {
		if !o.armed || next.Before(o.due) {
			o.armAt(next)
		}
		return
	}
	o.urgentAt = now
	// The buffer is empty: the next record arms the timer again.
	o.timer.Stop()
	o.armed = false
	_ = o.flushLocked()
}

// Flush writes the summaries of the loggers' flood limiters, then what the
// buffer holds.
func (o *Output) Flush() error {
	o.mu.Lock()
	limiters := o.limiters
	o.mu.Unlock()
	// Unlocked: a summary is a record written to o.
	for _, l := range limiters {
		l.Flush()
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.flushLocked()
}

// Suppressed returns how many records the loggers' flood limiters have held
// back.
func (o *Output) Suppressed() uint64 {
	o.mu.Lock()
	defer o.mu.Unlock()
	var n uint64
	for _, l := range o.limiters {
		n += l.Suppressed()
	}
	return n
}

// watch makes l one of the limiters the Output flushes and counts.
func (o *Output) watch(l limiter) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.limiters = append(o.limiters, l)
}

// Close writes out the limiters' summaries and what the buffer holds;
// records written after it are written at once.
func (o *Output) Close() error {
	o.mu.Lock()
	limiters := o.limiters
	o.mu.Unlock()
	for _, l := range limiters {
		l.Flush()
	}
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
	// Warn and error records that come next wait for the gap again: under a
	// flood of them the buffer is written once a gap, never sooner.
	o.urgentAt = time.Now()
	_ = o.flushLocked()
}

// flushFunc returns the function the loggers call after every record at
// warn level or above, or nil when w is not an Output.
func flushFunc(w io.Writer) func() {
	o, ok := w.(*Output)
	if !ok {
		return nil
	}
	return o.flushUrgent
}

// watchLimiter makes w, when it is an Output, flush and count l.
func watchLimiter(w io.Writer, l limiter) {
	if o, ok := w.(*Output); ok {
		o.watch(l)
	}
}
