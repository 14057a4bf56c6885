package logging

import (
	"sync"
	"sync/atomic"
	"time"
)

// A flood of alike records, the refusals of one route or the same error
// again and again, tells nothing after its first few records but how many
// there were. A Limiter writes at most LimitPerKind records of one kind a
// second, LimitAll of all its kinds together, and counts the rest: when the
// second is over it writes one summary record for each kind it held back,
// saying how many. A limiter thus writes at most LimitAll+LimitKinds+1 lines
// a second however hard it is flooded.
const (
	LimitPerKind = 10
	LimitAll     = 100
	// LimitKinds is how many kinds a limiter tells apart in one second;
	// the records of the kinds beyond are counted in one summary together.
	LimitKinds = 64

	limitWindow = time.Second
)

// SuppressedMessage is the message of a summary record.
const SuppressedMessage = "log records suppressed"

// Limiter decides which records of a flood are written, by their kind K
// (route and status, say, or level and message), one second at a time.
type Limiter[K comparable] struct {
	summarise func(kind K, count int)

	mu      sync.Mutex
	kinds   map[K]tally
	written int // records of every kind let through in this second
	other   int // records held back of kinds beyond LimitKinds
	open    bool
	timer   *time.Timer // ends the second that the first record opened

	suppressed atomic.Uint64
}

type tally struct {
	written, suppressed int
}

// NewLimiter returns a Limiter that calls summarise, when a second is over,
// with each kind of which it held records back and their count; the kind is
// K's zero value for the records of kinds beyond LimitKinds. summarise must
// not log through the limiter.
func NewLimiter[K comparable](summarise func(kind K, count int)) *Limiter[K] {
	l := &Limiter[K]{summarise: summarise, kinds: make(map[K]tally)}
	l.timer = time.AfterFunc(limitWindow, l.endSecond)
	l.timer.Stop()
	return l
}

// Allow reports whether a record of kind k is written; a record held back is
// counted for the summary.
func (l *Limiter[K]) Allow(k K) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.open {
		// The second starts with the flood, not on a clock's tick: a
		// service that logs nothing alike sets no timer.
		l.open = true
		l.timer.Reset(limitWindow)
	}
	t, ok := l.kinds[k]
	if !ok && len(l.kinds) == LimitKinds {
		l.other++
		l.suppressed.Add(1)
		return false
	}
	if t.written < LimitPerKind && l.written < LimitAll {
		t.written++
		l.written++
		l.kinds[k] = t
		return true
	}
	t.suppressed++
	l.kinds[k] = t
	l.suppressed.Add(1)
	return false
}

// Suppressed returns how many records the limiter has held back since it
// was made.
func (l *Limiter[K]) Suppressed() uint64 { return l.suppressed.Load() }

// Flush ends the second at once, writing the summaries of what it held back:
// the service does before it exits.
func (l *Limiter[K]) Flush() {
	l.timer.Stop()
	l.endSecond()
}

type summary[K comparable] struct {
	kind  K
	count int
}

func (l *Limiter[K]) endSecond() {
	l.mu.Lock()
	var due []summary[K]
	for k, t := range l.kinds {
		if t.suppressed > 0 {
			due = append(due, summary[K]{k, t.suppressed})
		}
	}
	other := l.other
	clear(l.kinds)
	l.written, l.other, l.open = 0, 0, false
	l.mu.Unlock()
	// Outside the lock: a summary is a record, and its writer may log.
	for _, s := range due {
		l.summarise(s.kind, s.count)
	}
	if other > 0 {
		var zero K
		l.summarise(zero, other)
	}
}

// limited reports whether records with this message are limited as a flood
// when they repeat: the access records have their own limiter, keyed by route
// and status, and a summary is never held back.
func limited(msg string) bool {
	return msg != accessMessage && msg != SuppressedMessage
}
