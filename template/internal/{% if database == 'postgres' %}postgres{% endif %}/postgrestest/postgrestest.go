// Package postgrestest gives each test a schema of its own in the PostgreSQL
// server that DATABASE_URL names, so that tests run in parallel and leave
// nothing behind.
package postgrestest

import (
	"context"
	"crypto/rand"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// URL returns DATABASE_URL with a new, empty schema first on its search path,
// dropped when the test ends. Without DATABASE_URL it skips the test.
func URL(t testing.TB) string {
	t.Helper()
	base := os.Getenv("DATABASE_URL")
	if base == "" {
		t.Skip("DATABASE_URL is not set: this test needs PostgreSQL. " +
			"Start one with `docker compose up -d --wait postgres`, then run " +
			"DATABASE_URL=postgres://app:app@127.0.0.1:5432/app?sslmode=disable go test ./...")
	}
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal("DATABASE_URL does not parse") // the error would repeat the password
	}
	schema := "test_" + strings.ToLower(rand.Text())
	exec(t, base, "CREATE SCHEMA "+schema)
	t.Cleanup(func() { exec(t, base, "DROP SCHEMA "+schema+" CASCADE") })
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// exec runs one statement on a connection of its own.
func exec(t testing.TB, dsn, sql string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("connect to DATABASE_URL: %v", err)
	}
	defer func() { _ = conn.Close(ctx) }()
	if _, err := conn.Exec(ctx, sql); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}
