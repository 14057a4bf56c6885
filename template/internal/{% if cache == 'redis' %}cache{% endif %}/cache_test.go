package cache

import (
	"context"
	"crypto/rand"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// redisURL is the Redis server of the tests that need one: REDIS_URL, or the
// test is skipped.
func redisURL(t *testing.T) string {
	t.Helper()
	url := os.Getenv("REDIS_URL")
	if url == "" {
		t.Skip("REDIS_URL is not set, and this test needs a Redis server: run `docker compose up -d redis`, " +
			"then `REDIS_URL=redis://localhost:6379/0 go test ./...`")
	}
	return url
}

// closedAddr is an address nothing listens on: connections are refused.
func closedAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	return addr
}

func newClient(t *testing.T, url string) (*Client, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	c, err := New(url, 250*time.Millisecond, reg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close(context.Background()) })
	return c, reg
}

// metric is the value of the counter name with the given operation label
// ("" for none).
func metric(t *testing.T, reg *prometheus.Registry, name, operation string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			op := ""
			for _, l := range m.GetLabel() {
				if l.GetName() == "operation" {
					op = l.GetValue()
				}
			}
			if op == operation {
				return m.GetCounter().GetValue()
			}
		}
	}
	t.Fatalf("no metric %s{operation=%q}", name, operation)
	return 0
}

func TestNewRefusesBadURLsWithoutThePassword(t *testing.T) {
	for _, url := range []string{
		"redis://:hunter2@cache:port/0",
		"redis://:hunter2@cache:6379/not-a-number",
		"http://:hunter2@cache:6379/0",
	} {
		_, err := New(url, time.Second, prometheus.NewRegistry())
		if err == nil {
			t.Errorf("New(%q) succeeded", url)
			continue
		}
		if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("New(%q) = %v: the error holds the password", url, err)
		}
	}
}

// A Redis that is down costs a call one short timeout at most, and every
// failure is counted.
func TestRedisDownFailsFast(t *testing.T) {
	c, reg := newClient(t, "redis://:hunter2@"+closedAddr(t)+"/0")
	ctx := context.Background()
	begin := time.Now()
	if err := c.Check(ctx); err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("Check = %v, want an error without the password", err)
	}
	if _, found, err := c.Get(ctx, "k"); err == nil || found {
		t.Errorf("Get = %v, %v; want an error", found, err)
	}
	if err := c.Set(ctx, "k", []byte("v"), time.Minute); err == nil {
		t.Error("Set succeeded")
	}
	if err := c.Delete(ctx, "k"); err == nil {
		t.Error("Delete succeeded")
	}
	if took := time.Since(begin); took > time.Second {
		t.Errorf("four calls to a down Redis took %s", took)
	}
	for _, op := range []string{"get", "set", "delete"} {
		if n := metric(t, reg, "cache_errors_total", op); n != 1 {
			t.Errorf("cache_errors_total{operation=%q} = %g, want 1", op, n)
		}
	}
	if n := metric(t, reg, "cache_misses_total", ""); n != 0 {
		t.Errorf("a failed read counted as a miss: %g", n)
	}
}

func TestMetricsRegisterOnce(t *testing.T) {
	reg := prometheus.NewRegistry()
	c, err := New("redis://"+closedAddr(t)+"/0", time.Second, reg)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Close(context.Background()) }()
	if _, err := New("redis://"+closedAddr(t)+"/0", time.Second, reg); err == nil {
		t.Fatal("a second client registered the same metrics")
	}
}

func TestAgainstRedis(t *testing.T) {
	c, reg := newClient(t, redisURL(t))
	ctx := context.Background()
	key := "cache-test:" + rand.Text()
	t.Cleanup(func() { _ = c.Delete(context.Background(), key) })

	if err := c.Check(ctx); err != nil {
		t.Fatalf("Check = %v", err)
	}
	if _, found, err := c.Get(ctx, key); found || err != nil {
		t.Fatalf("Get of a new key = %v, %v; want a miss", found, err)
	}
	if err := c.Set(ctx, key, []byte("value"), time.Minute); err != nil {
		t.Fatal(err)
	}
	if ttl := c.rdb.TTL(ctx, key).Val(); ttl <= 0 || ttl > time.Minute {
		t.Errorf("TTL = %s, want at most a minute", ttl)
	}
	if v, found, err := c.Get(ctx, key); !found || err != nil || string(v) != "value" {
		t.Fatalf("Get = %q, %v, %v; want the value", v, found, err)
	}
	if err := c.Delete(ctx, key); err != nil {
		t.Fatal(err)
	}
	if _, found, err := c.Get(ctx, key); found || err != nil {
		t.Fatalf("Get after Delete = %v, %v; want a miss", found, err)
	}
	for name, want := range map[string]float64{"cache_hits_total": 1, "cache_misses_total": 2} {
		if n := metric(t, reg, name, ""); n != want {
			t.Errorf("%s = %g, want %g", name, n, want)
		}
	}
	if n := metric(t, reg, "cache_errors_total", "get"); n != 0 {
		t.Errorf("cache_errors_total{operation=\"get\"} = %g, want 0", n)
	}

	if err := c.Close(ctx); err != nil {
		t.Fatalf("Close = %v", err)
	}
	if _, _, err := c.Get(ctx, key); err == nil {
		t.Error("Get after Close succeeded")
	}
}

// A short TTL expires.
func TestEntriesExpire(t *testing.T) {
	c, _ := newClient(t, redisURL(t))
	ctx := context.Background()
	key := "cache-test:" + rand.Text()
	if err := c.Set(ctx, key, []byte("v"), 50*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(2 * time.Second)
	for {
		_, found, err := c.Get(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		if !found {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the entry outlived its TTL")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
