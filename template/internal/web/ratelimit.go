package web

import (
	"math"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// RateLimits are the limits RateLimit applies: rps tokens per second refill a
// bucket of burst tokens. Set changes them under a running service, for the
// requests that follow; it is safe to call while requests are served.
type RateLimits struct {
	p atomic.Pointer[rateLimits]
}

type rateLimits struct {
	rps   float64
	burst float64
}

// NewRateLimits returns the limits rps and burst. rps <= 0 turns limiting off.
func NewRateLimits(rps float64, burst int) *RateLimits {
	l := &RateLimits{}
	l.Set(rps, burst)
	return l
}

// Set replaces the limits. A bucket fuller than the new burst is cut down to
// it at its client's next request.
func (l *RateLimits) Set(rps float64, burst int) {
	l.p.Store(&rateLimits{rps: rps, burst: float64(burst)})
}

func (l *RateLimits) get() rateLimits { return *l.p.Load() }

// RateLimit gives each client (by IP address; IPv6 by /64 network) a token
// bucket, as limits say (see RateLimits). A client out of tokens is answered
// 429 with Retry-After.
//
// It keeps at most maxClients buckets: past that, each new client's bucket
// replaces an arbitrary other's, counted in m's
// http_rate_limit_evictions_total. A client whose bucket is forgotten gets a
// full burst again, the least harm a flood of addresses (an IPv6 client can
// own many /64 networks) can then do; refusing new clients instead would lock
// out everyone who arrives during the flood.
//
// Clients are told apart by the connection's address. Behind a reverse proxy
// or load balancer that is the proxy's address: limit there instead, or key on
// a header the proxy sets and clients cannot forge.
func RateLimit(limits *RateLimits, m *Metrics) func(http.Handler) http.Handler {
	l := newLimiter(limits, maxClients, m.limiterEvictions.Inc)
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

// maxClients bounds the limiter's memory: about 8 MiB of buckets.
const maxClients = 1 << 16

// minIdleTTL is the least time a client's bucket is kept after its last
// request. A bucket is kept at least until it would be full again, so
// forgetting it changes nothing.
const minIdleTTL = 3 * time.Minute

// limiter keeps a token bucket for each client. The buckets live under the
// one lock that guards the map: a bucket of its own, with its own lock, would
// double the locking on every request.
type limiter struct {
	limits     *RateLimits
	maxClients int
	evicted    func() // called for each bucket forgotten to make room

	mu        sync.Mutex
	clients   map[netip.Prefix]*client
	lastSweep time.Time
}

func newLimiter(limits *RateLimits, maxClients int, evicted func()) *limiter {
	return &limiter{
		limits:     limits,
		maxClients: maxClients,
		evicted:    evicted,
		clients:    make(map[netip.Prefix]*client),
	}
}

// seconds converts s seconds to a Duration, the longest one when s is beyond
// its range: a converted float out of range gives a meaningless value, which
// for a wait could be negative and let the request through.
func seconds(s float64) time.Duration {
	if s >= float64(math.MaxInt64)/float64(time.Second) {
		return math.MaxInt64
	}
	return time.Duration(s * float64(time.Second))
}

type client struct {
	tokens   float64 // left in the bucket at lastSeen
	lastSeen time.Time
}

// wait takes a token for key, or returns how long until one is available. now
// is when the request arrived; requests can reach the limiter out of that
// order, and a bucket's time only moves forward, so that no interval is
// credited twice.
func (l *limiter) wait(key netip.Prefix, now time.Time) time.Duration {
	lim := l.limits.get()
	if lim.rps <= 0 {
		return 0
	}
	// Taken at each sweep, so that it follows changed limits.
	idleTTL := max(minIdleTTL, seconds(lim.burst/lim.rps))
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.lastSweep) > idleTTL {
		for k, c := range l.clients {
			if now.Sub(c.lastSeen) > idleTTL {
				delete(l.clients, k)
			}
		}
		l.lastSweep = now
	}
	c, ok := l.clients[key]
	if !ok {
		if len(l.clients) >= l.maxClients {
			for k := range l.clients { // map order: an arbitrary bucket
				delete(l.clients, k)
				l.evicted()
				break
			}
		}
		c = &client{tokens: lim.burst, lastSeen: now}
		l.clients[key] = c
	} else if elapsed := now.Sub(c.lastSeen); elapsed > 0 {
		c.tokens += elapsed.Seconds() * lim.rps
		c.lastSeen = now
	}
	// Also when no time passed: the burst may have been lowered since.
	c.tokens = min(lim.burst, c.tokens)
	if c.tokens >= 1 {
		c.tokens--
		return 0
	}
	return seconds((1 - c.tokens) / lim.rps)
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
