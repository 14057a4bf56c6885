package cache

import (
	"testing"
	"time"
)

// clock is a fake time that moves only when told.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func TestBreaker(t *testing.T) {
	const coolDown = time.Second
	// A step is one thing that happens to the breaker: a call (allowed or
	// not, then its outcome) or time passing.
	type step struct {
		wait    time.Duration // time passes first
		outcome outcome       // of the call, when it is allowed
		allowed bool          // whether the call goes ahead
		state   State         // the state afterwards
	}
	fail := func(allowed bool, state State) step { return step{outcome: failed, allowed: allowed, state: state} }
	succeed := func(allowed bool, state State) step { return step{outcome: succeeded, allowed: allowed, state: state} }
	tests := []struct {
		name  string
		steps []step
	}{
		{"closed while calls succeed", []step{
			succeed(true, Closed), succeed(true, Closed), succeed(true, Closed),
		}},
		{"opens after three failures in a row", []step{
			fail(true, Closed), fail(true, Closed), fail(true, Open),
			succeed(false, Open), fail(false, Open),
		}},
		{"a success resets the count", []step{
			fail(true, Closed), fail(true, Closed), succeed(true, Closed),
			fail(true, Closed), fail(true, Closed), fail(true, Open),
		}},
		{"stays open until the cool-down ends", []step{
			fail(true, Closed), fail(true, Closed), fail(true, Open),
			{wait: coolDown - time.Millisecond, outcome: succeeded, allowed: false, state: Open},
		}},
		{"a probe that succeeds closes it", []step{
			fail(true, Closed), fail(true, Closed), fail(true, Open),
			{wait: coolDown, outcome: succeeded, allowed: true, state: Closed},
			fail(true, Closed),
		}},
		{"a probe that fails reopens it for another cool-down", []step{
			fail(true, Closed), fail(true, Closed), fail(true, Open),
			{wait: coolDown, outcome: failed, allowed: true, state: Open},
			{wait: coolDown - time.Millisecond, outcome: succeeded, allowed: false, state: Open},
			{wait: time.Millisecond, outcome: succeeded, allowed: true, state: Closed},
		}},
		{"an abandoned probe lets the next call probe", []step{
			fail(true, Closed), fail(true, Closed), fail(true, Open),
			{wait: coolDown, outcome: abandoned, allowed: true, state: HalfOpen},
			succeed(true, Closed),
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := &clock{t: time.Unix(1_000_000, 0)}
			b := newBreaker(3, coolDown, clk.now)
			for i, s := range tt.steps {
				clk.t = clk.t.Add(s.wait)
				ok, _, _ := b.allow()
				if ok != s.allowed {
					t.Fatalf("step %d: allowed = %v, want %v", i, ok, s.allowed)
				}
				if ok {
					b.done(s.outcome)
				}
				if got := b.current(); got != s.state {
					t.Fatalf("step %d: state = %s, want %s", i, got, s.state)
				}
			}
		})
	}
}

// While one probe is in flight, every other call is refused.
func TestBreakerLetsOneProbeThrough(t *testing.T) {
	clk := &clock{t: time.Unix(1_000_000, 0)}
	b := newBreaker(1, time.Second, clk.now)
	if ok, _, _ := b.allow(); !ok {
		t.Fatal("a closed breaker refused a call")
	}
	if from, to := b.done(failed); from != Closed || to != Open {
		t.Fatalf("done(failed) = %s -> %s, want closed -> open", from, to)
	}
	clk.t = clk.t.Add(time.Second)
	if ok, from, to := b.allow(); !ok || from != Open || to != HalfOpen {
		t.Fatalf("allow after the cool-down = %v, %s -> %s; want the probe, open -> half_open", ok, from, to)
	}
	for range 3 {
		if ok, _, _ := b.allow(); ok {
			t.Fatal("a second call went through while the probe was in flight")
		}
	}
	if from, to := b.done(succeeded); from != HalfOpen || to != Closed {
		t.Fatalf("done(succeeded) = %s -> %s, want half_open -> closed", from, to)
	}
	if ok, _, _ := b.allow(); !ok {
		t.Fatal("a closed breaker refused a call")
	}
}
