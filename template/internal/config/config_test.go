package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func env(vars map[string]string) func(string) string {
	return func(key string) string { return vars[key] }
}

func TestLoadDefaults(t *testing.T) {
	cfg, err := Load(env(nil))
	if err != nil {
		t.Fatalf("Load with no variables: %v", err)
	}
	want := Config{
		HTTPAddr:           ":8080",
		AdminAddr:          "127.0.0.1:9090",
		LogLevel:           "info",
		LogFormat:          "json",
		LogFlushInterval:   time.Second,
		ReadHeaderTimeout:  5 * time.Second,
		ReadTimeout:        15 * time.Second,
		WriteTimeout:       15 * time.Second,
		IdleTimeout:        60 * time.Second,
		MaxHeaderBytes:     64 << 10,
		ShutdownDrainDelay: 5 * time.Second,
		ShutdownTimeout:    20 * time.Second,
		ReadinessInterval:  2 * time.Second,
		ReadinessTimeout:   2 * time.Second,
		RateLimitRPS:       100,
		RateLimitBurst:     200,
		MaxBodyBytes:       1 << 20,
	}
	if cfg != want {
		t.Fatalf("defaults:\n got %+v\nwant %+v", cfg, want)
	}
}

func TestLoadOverrides(t *testing.T) {
	cfg, err := Load(env(map[string]string{
		"HTTP_ADDR":            "127.0.0.1:0",
		"LOG_LEVEL":            "DEBUG",
		"LOG_FORMAT":           "text",
		"LOG_FLUSH_INTERVAL":   "0",
		"SHUTDOWN_DRAIN_DELAY": "0s",
		"RATE_LIMIT_RPS":       "0",
		"MAX_BODY_BYTES":       " 512 ",

		"HTTP_MAX_HEADER_BYTES":  "8192",
		"CONTAINER_MEMORY_LIMIT": "268435456",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.HTTPAddr != "127.0.0.1:0" || cfg.LogLevel != "debug" || cfg.LogFormat != "text" || cfg.LogFlushInterval != 0 ||
		cfg.ShutdownDrainDelay != 0 || cfg.RateLimitRPS != 0 || cfg.MaxBodyBytes != 512 ||
		cfg.MaxHeaderBytes != 8192 || cfg.ContainerMemoryLimit != 268435456 {
		t.Fatalf("overrides not applied: %+v", cfg)
	}
}

func TestLoadReportsEveryProblem(t *testing.T) {
	tests := []struct {
		key, value, want string
	}{
		{"HTTP_ADDR", "localhost", "host:port"},
		{"ADMIN_ADDR", ":99999", "port"},
		{"LOG_LEVEL", "loud", "one of"},
		{"LOG_FORMAT", "xml", "one of"},
		{"LOG_FLUSH_INTERVAL", "2s", "at most 1s"},
		{"HTTP_READ_HEADER_TIMEOUT", "5", "duration"},
		{"HTTP_WRITE_TIMEOUT", "0s", "greater than zero"},
		{"SHUTDOWN_DRAIN_DELAY", "-1s", "negative"},
		{"RATE_LIMIT_RPS", "NaN", "finite number"},
		{"RATE_LIMIT_BURST", "0", "from 1"},
		{"MAX_BODY_BYTES", "1MB", "whole number"},
		{"HTTP_MAX_HEADER_BYTES", "100", "from 1024"},
		{"READINESS_INTERVAL", "0s", "greater than zero"},
		{"CONTAINER_MEMORY_LIMIT", "256Mi", "whole number"},
	}
	vars := map[string]string{}
	for _, tt := range tests {
		vars[tt.key] = tt.value
	}
	_, err := Load(env(vars))
	verr, ok := errors.AsType[*ValidationError](err)
	if !ok {
		t.Fatalf("Load = %v, want a *ValidationError", err)
	}
	if len(verr.Problems) != len(tests) {
		t.Errorf("got %d problems, want %d:\n%v", len(verr.Problems), len(tests), err)
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			for _, p := range verr.Problems {
				if strings.HasPrefix(p, tt.key+"=") {
					if !strings.Contains(p, tt.want) {
						t.Errorf("problem %q does not say %q", p, tt.want)
					}
					return
				}
			}
			t.Errorf("no problem reported for %s=%q in:\n%v", tt.key, tt.value, err)
		})
	}
}

func TestLoadRateLimitRPS(t *testing.T) {
	tests := []struct {
		value string
		ok    bool
	}{
		{"0", true},
		{"0.001", true},
		{"250", true},
		{"0.0009", false},
		{"1e-10", false},
		{"-1", false},
	}
	for _, tt := range tests {
		t.Run(tt.value, func(t *testing.T) {
			_, err := Load(env(map[string]string{"RATE_LIMIT_RPS": tt.value}))
			if ok := err == nil; ok != tt.ok {
				t.Fatalf("Load(RATE_LIMIT_RPS=%s) = %v, want ok = %v", tt.value, err, tt.ok)
			}
			if err != nil && !strings.Contains(err.Error(), "RATE_LIMIT_RPS") {
				t.Fatalf("the problem does not name RATE_LIMIT_RPS: %v", err)
			}
		})
	}
}

func TestLoadRejectsSharedListener(t *testing.T) {
	_, err := Load(env(map[string]string{"HTTP_ADDR": ":7000", "ADMIN_ADDR": ":7000"}))
	if err == nil || !strings.Contains(err.Error(), "ADMIN_ADDR") {
		t.Fatalf("Load = %v, want ADMIN_ADDR named", err)
	}
}

func TestSettingsMatchTheConfig(t *testing.T) {
	vals := Config{}.values()
	seen := map[string]bool{}
	for _, s := range Settings() {
		if _, ok := vals[s.Env]; !ok {
			t.Errorf("%s is a setting but no field of Config", s.Env)
		}
		if seen[s.Env] {
			t.Errorf("%s listed twice", s.Env)
		}
		seen[s.Env] = true
	}
	if len(vals) != len(seen) {
		t.Errorf("Config has %d keys, Settings lists %d", len(vals), len(seen))
	}
}

func TestReloadAppliesOnlyReloadableKeys(t *testing.T) {
	old, err := Load(env(nil))
	if err != nil {
		t.Fatal(err)
	}
	next := old
	next.LogLevel, next.RateLimitRPS, next.RateLimitBurst = "debug", 1, 2
	next.HTTPAddr, next.IdleTimeout = ":9999", time.Hour

	merged, applied, ignored := old.Reload(next)
	if got, want := strings.Join(applied, ","), "log_level,rate_limit_rps,rate_limit_burst"; got != want {
		t.Errorf("applied = %s, want %s", got, want)
	}
	if got, want := strings.Join(ignored, ","), "http_addr,http_idle_timeout"; got != want {
		t.Errorf("ignored = %s, want %s", got, want)
	}
	want := old
	want.LogLevel, want.RateLimitRPS, want.RateLimitBurst = "debug", 1, 2
	if merged != want {
		t.Errorf("merged:\n got %+v\nwant %+v", merged, want)
	}
	// Every key Settings marks as reloading is one Reload applies.
	for _, s := range Settings() {
		if s.Reloads != strings.Contains(","+strings.Join(applied, ",")+",", ","+s.FileKey()+",") {
			t.Errorf("%s: Settings says Reloads = %v, Reload disagrees", s.Env, s.Reloads)
		}
	}
}

func TestSecretIsMasked(t *testing.T) {
	type holder struct{ URL Secret }
	h := holder{URL: Secret{value: "postgres://u:hunter2@db/app"}}
	var logs bytes.Buffer
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("x", slog.Any("h", h), slog.Any("url", h.URL))
	text, _ := json.Marshal(h)
	for _, out := range []string{
		fmt.Sprintf("%v %+v %#v %s", h, h, h, h.URL),
		string(text),
		logs.String(),
	} {
		if strings.Contains(out, "hunter2") {
			t.Errorf("the secret leaked: %s", out)
		}
		if !strings.Contains(out, redacted) {
			t.Errorf("no %s in %s", redacted, out)
		}
	}
	if h.URL.Reveal() != "postgres://u:hunter2@db/app" {
		t.Errorf("Reveal = %q", h.URL.Reveal())
	}
}

func TestSecretFromEnvironmentOrFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(path, []byte("from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		vars    map[string]string
		want    string
		problem string
	}{
		{"variable", map[string]string{"TOKEN": "from-env"}, "from-env", ""},
		{"file", map[string]string{"TOKEN_FILE": path}, "from-file", ""},
		{"none", nil, "", ""},
		{"both", map[string]string{"TOKEN": "from-env", "TOKEN_FILE": path}, "", "not both"},
		{"missing file", map[string]string{"TOKEN_FILE": path + ".gone"}, "", "cannot read"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &reader{}
			v, _ := r.secret(env(tt.vars), "TOKEN")
			if v.raw != tt.want {
				t.Errorf("secret = %q, want %q", v.raw, tt.want)
			}
			got := strings.Join(r.problems, "\n")
			if tt.problem == "" && got != "" || !strings.Contains(got, tt.problem) {
				t.Errorf("problems %q, want one saying %q", got, tt.problem)
			}
			if strings.Contains(got, "from-env") {
				t.Errorf("a problem repeats the secret: %s", got)
			}
		})
	}
}

func TestConfigLogsEveryKey(t *testing.T) {
	cfg, err := Load(env(nil))
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("x", slog.Any("config", cfg))
	var rec struct{ Config map[string]any }
	if err := json.Unmarshal(logs.Bytes(), &rec); err != nil {
		t.Fatal(err)
	}
	for _, s := range Settings() {
		if _, ok := rec.Config[s.FileKey()]; !ok {
			t.Errorf("%s not logged: %s", s.FileKey(), logs.String())
		}
	}
	if rec.Config["shutdown_timeout"] != "20s" {
		t.Errorf("a duration logs as %v, want 20s", rec.Config["shutdown_timeout"])
	}
}
