package notes

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

var fixedNow = func() time.Time { return time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC) }

func newMux(store Store) *http.ServeMux {
	logger := slog.New(slog.NewJSONHandler(io.Discard, nil))
	mux := http.NewServeMux()
	mux.Handle("POST /v1/notes", HandleCreate(logger, store, fixedNow))
	mux.Handle("GET /v1/notes/{id}", HandleGet(logger, store))
	return mux
}

func do(h http.Handler, method, target, contentType, body string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, target, strings.NewReader(body))
	if contentType != "" {
		r.Header.Set("Content-Type", contentType)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	return rec
}

func TestCreateThenGet(t *testing.T) {
	mux := newMux(NewMemoryStore(10, 1<<20))
	rec := do(mux, http.MethodPost, "/v1/notes", "application/json", `{"title":"hello","body":"world"}`)
	if rec.Code != http.StatusCreated {
		t.Fatalf("create: %d %s", rec.Code, rec.Body)
	}
	var created Note
	if err := json.Unmarshal(rec.Body.Bytes(), &created); err != nil {
		t.Fatal(err)
	}
	if created.ID == "" || created.Title != "hello" || created.Body != "world" || !created.CreatedAt.Equal(fixedNow()) {
		t.Fatalf("created %+v", created)
	}
	if loc := rec.Header().Get("Location"); loc != "/v1/notes/"+created.ID {
		t.Fatalf("Location = %q", loc)
	}

	rec = do(mux, http.MethodGet, "/v1/notes/"+created.ID, "", "")
	var got Note
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil || rec.Code != http.StatusOK {
		t.Fatalf("get: %d %s", rec.Code, rec.Body)
	}
	if got != created {
		t.Fatalf("got %+v, want %+v", got, created)
	}
}

func TestCreateRejects(t *testing.T) {
	tests := []struct {
		name, contentType, body string
		want                    int
		wantField               string
	}{
		{"wrong content type", "text/plain", `{"title":"a"}`, http.StatusUnsupportedMediaType, ""},
		{"malformed", "application/json", `{"title":`, http.StatusBadRequest, ""},
		{"unknown field", "application/json", `{"title":"a","id":"mine"}`, http.StatusBadRequest, ""},
		{"missing title", "application/json", `{"body":"b"}`, http.StatusUnprocessableEntity, "title"},
		{"blank title", "application/json", `{"title":"   "}`, http.StatusUnprocessableEntity, "title"},
		{"long title", "application/json", `{"title":"` + strings.Repeat("é", maxTitle+1) + `"}`, http.StatusUnprocessableEntity, "title"},
		{"long body", "application/json", `{"title":"a","body":"` + strings.Repeat("b", maxBody+1) + `"}`, http.StatusUnprocessableEntity, "body"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := do(newMux(NewMemoryStore(10, 1<<20)), http.MethodPost, "/v1/notes", tt.contentType, tt.body)
			if rec.Code != tt.want {
				t.Fatalf("got %d %s, want %d", rec.Code, rec.Body, tt.want)
			}
			if ct := rec.Header().Get("Content-Type"); ct != "application/problem+json" {
				t.Fatalf("Content-Type = %q", ct)
			}
			if tt.wantField == "" {
				return
			}
			var p struct {
				Errors []struct{ Field string } `json:"errors"`
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil || len(p.Errors) != 1 || p.Errors[0].Field != tt.wantField {
				t.Fatalf("want one error naming %q, got %s", tt.wantField, rec.Body)
			}
		})
	}
}

func TestGetMissing(t *testing.T) {
	rec := do(newMux(NewMemoryStore(10, 1<<20)), http.MethodGet, "/v1/notes/nope", "", "")
	if rec.Code != http.StatusNotFound || rec.Header().Get("Content-Type") != "application/problem+json" {
		t.Fatalf("got %d %q", rec.Code, rec.Header().Get("Content-Type"))
	}
}

func TestStoreFull(t *testing.T) {
	// The largest valid note: 10,000 four-byte characters, 40 KB.
	big := `{"title":"big","body":"` + strings.Repeat("\U0001F600", maxBody) + `"}`
	tests := []struct {
		name     string
		store    *MemoryStore
		body     string
		accepted int
	}{
		{"by count", NewMemoryStore(1, 1<<20), `{"title":"a"}`, 1},
		{"by bytes", NewMemoryStore(1000, 100<<10), big, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mux := newMux(tt.store)
			for i := range tt.accepted {
				if rec := do(mux, http.MethodPost, "/v1/notes", "application/json", tt.body); rec.Code != http.StatusCreated {
					t.Fatalf("note %d: %d %s", i+1, rec.Code, rec.Body)
				}
			}
			if rec := do(mux, http.MethodPost, "/v1/notes", "application/json", tt.body); rec.Code != http.StatusInsufficientStorage {
				t.Fatalf("note past the limit: %d, want 507", rec.Code)
			}
			// A smaller note may still fit where the big one did not, but
			// never past the count.
			_ = do(mux, http.MethodPost, "/v1/notes", "application/json", `{"title":"c"}`)
			if n, size := tt.store.Usage(); n > tt.accepted+1 || size > tt.store.maxBytes {
				t.Fatalf("store holds %d notes, %d bytes; past its bounds", n, size)
			}
		})
	}
}

type brokenStore struct{}

func (brokenStore) Create(context.Context, Note) error { return errors.New("disk on fire") }
func (brokenStore) Get(context.Context, string) (Note, error) {
	return Note{}, errors.New("disk on fire")
}

func TestStoreFailureIsA500WithoutDetails(t *testing.T) {
	mux := newMux(brokenStore{})
	for _, rec := range []*httptest.ResponseRecorder{
		do(mux, http.MethodPost, "/v1/notes", "application/json", `{"title":"a"}`),
		do(mux, http.MethodGet, "/v1/notes/x", "", ""),
	} {
		if rec.Code != http.StatusInternalServerError || strings.Contains(rec.Body.String(), "fire") {
			t.Fatalf("got %d %s", rec.Code, rec.Body)
		}
	}
}
