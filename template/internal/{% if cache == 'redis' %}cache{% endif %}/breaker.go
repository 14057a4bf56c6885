package cache

import (
	"sync"
	"time"
)

// State is the position of a circuit breaker.
type State int

// The states of a circuit breaker.
const (
	Closed   State = iota // calls go through
	Open                  // calls are skipped until the cool-down ends
	HalfOpen              // one probe call goes through; the others are skipped
)

func (s State) String() string {
	switch s {
	case Closed:
		return "closed"
	case Open:
		return "open"
	case HalfOpen:
		return "half_open"
	}
	return "unknown"
}

// outcome is what became of a call the breaker let through.
type outcome int

const (
	succeeded outcome = iota
	failed
	// abandoned: the caller gave up first (a client that went away), which
	// says nothing of the server.
	abandoned
)

// breaker stops calls to a server that keeps failing, so that an outage costs
// each caller nothing rather than a timeout. After threshold consecutive
// failures it opens for coolDown, and calls are refused at once; then the
// next call is a probe (half-open): its success closes the breaker, its
// failure opens it for another coolDown.
type breaker struct {
	threshold int
	coolDown  time.Duration
	now       func() time.Time

	mu       sync.Mutex
	state    State
	failures int       // consecutive, while closed
	until    time.Time // when an open breaker lets a probe through
	probing  bool      // a probe is in flight (half-open)
}

func newBreaker(threshold int, coolDown time.Duration, now func() time.Time) *breaker {
	return &breaker{threshold: threshold, coolDown: coolDown, now: now}
}

// allow reports whether a call may go ahead, and the breaker's state before
// and after it asked (they differ when the cool-down just ended). Every call
// allowed must be followed by one done.
func (b *breaker) allow() (ok bool, from, to State) {
	b.mu.Lock()
	defer b.mu.Unlock()
	from = b.state
	switch b.state {
	case Closed:
		ok = true
	case Open:
		if !b.now().Before(b.until) {
			b.state, b.probing, ok = HalfOpen, true, true
		}
	case HalfOpen:
		if !b.probing {
			b.probing, ok = true, true
		}
	}
	return ok, from, b.state
}

// done records the outcome of an allowed call, and returns the breaker's
// state before and after.
func (b *breaker) done(o outcome) (from, to State) {
	b.mu.Lock()
	defer b.mu.Unlock()
	from = b.state
	switch {
	case o == abandoned:
		// A probe that proved nothing: the next call probes again.
		b.probing = false
	case o == succeeded:
		b.failures, b.probing = 0, false
		b.state = Closed
	case b.state == HalfOpen:
		b.open()
	default:
		b.failures++
		if b.state == Closed && b.failures >= b.threshold {
			b.open()
		}
	}
	return from, b.state
}

func (b *breaker) open() {
	b.state, b.probing, b.failures = Open, false, 0
	b.until = b.now().Add(b.coolDown)
}

// current returns the breaker's state.
func (b *breaker) current() State {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.state
}
