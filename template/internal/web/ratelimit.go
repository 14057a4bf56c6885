package web

import (
	"math"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"sync"
	"time"
)

// RateLimit gives each client (by IP address; IPv6 by /64 network) a token
// bucket of burst tokens refilled at rps per second. A client out of tokens is
// answered 429 with Retry-After. rps <= 0 turns limiting off.
//
// Clients are told apart by the connection's address. Behind a reverse proxy
// or load balancer that is the proxy's address: limit there instead, or key on
// a header the proxy sets and clients cannot forge.
func RateLimit(rps float64, burst int) func(http.Handler) http.Handler {
	if rps <= 0 {
		return func(next http.Handler) http.Handler { return next }
	}
	l := newLimiter(rps, burst)
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if wait := l.wait(clientKey(r.RemoteAddr), requestStart(w)); wait > 0 {
				w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
				WriteProblem(w, r, Problem{
					Status: http.StatusTooManyRequests,
					Detail: "too many requests; retry after the number of seconds in Retry-After",
				})
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// minIdleTTL is the least time a client's bucket is kept after its last
// request. A bucket is kept at least until it would be full again, so
// forgetting it changes nothing.
const minIdleTTL = 3 * time.Minute

// limiter keeps a token bucket for each client. The buckets live under the
// one lock that guards the map: a bucket of its own, with its own lock, would
// double the locking on every request.
type limiter struct {
	rps     float64
	burst   float64
	idleTTL time.Duration

	mu        sync.Mutex
	clients   map[netip.Prefix]*client
	lastSweep time.Time
}

func newLimiter(rps float64, burst int) *limiter {
	return &limiter{
		rps:     rps,
		burst:   float64(burst),
		idleTTL: max(minIdleTTL, time.Duration(float64(burst)/rps*float64(time.Second))),
		clients: make(map[netip.Prefix]*client),
	}
}

type client struct {
	tokens   float64 // left in the bucket at lastSeen
	lastSeen time.Time
}

// wait takes a token for key, or returns how long until one is available.
func (l *limiter) wait(key netip.Prefix, now time.Time) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.lastSweep) > l.idleTTL {
		for k, c := range l.clients {
			if now.Sub(c.lastSeen) > l.idleTTL {
				delete(l.clients, k)
			}
		}
		l.lastSweep = now
	}
	c, ok := l.clients[key]
	if !ok {
		c = &client{tokens: l.burst}
		l.clients[key] = c
	} else if elapsed := now.Sub(c.lastSeen); elapsed > 0 {
		c.tokens = min(l.burst, c.tokens+elapsed.Seconds()*l.rps)
	}
	c.lastSeen = now
	if c.tokens >= 1 {
		c.tokens--
		return 0
	}
	return time.Duration((1 - c.tokens) / l.rps * float64(time.Second))
}

// clientKey is the client's address as a prefix: the address itself for IPv4,
// its /64 network for IPv6, where one host commonly holds a whole /64.
func clientKey(remoteAddr string) netip.Prefix {
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		host = remoteAddr
	}
	addr, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Prefix{}
	}
	addr = addr.Unmap().WithZone("")
	bits := 32
	if addr.Is6() {
		bits = 64
	}
	p, _ := addr.Prefix(bits)
	return p
}
