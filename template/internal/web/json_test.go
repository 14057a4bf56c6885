package web

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestStrictJSON: a body is checked by ReadJSONBody, then decoded by
// UnmarshalStrict, as a request body of the API is.
func TestStrictJSON(t *testing.T) {
	type payload struct {
		Name  string `json:"name"`
		Count int    `json:"count"`
		Inner *struct {
			Label string `json:"label"`
		} `json:"inner"`
		Labels map[string]string `json:"labels"`
	}
	tests := []struct {
		name        string
		contentType string
		body        string
		wantStatus  int    // 0: success
		wantKey     string // named in the detail
	}{
		{"valid", "application/json", `{"name":"a","count":1}`, 0, ""},
		{"charset parameter", "application/json; charset=utf-8", `{"name":"a"}`, 0, ""},
		{"no content type", "", `{"name":"a"}`, http.StatusUnsupportedMediaType, ""},
		{"wrong content type", "text/plain", `{"name":"a"}`, http.StatusUnsupportedMediaType, ""},
		{"empty", "application/json", ``, http.StatusBadRequest, ""},
		{"malformed", "application/json", `{"name":`, http.StatusBadRequest, ""},
		{"syntax error", "application/json", `{"name" "a"}`, http.StatusBadRequest, ""},
		{"unknown field", "application/json", `{"name":"a","admin":true}`, http.StatusBadRequest, ""},
		{"wrong type", "application/json", `{"count":"many"}`, http.StatusBadRequest, ""},
		{"not an object", "application/json", `[1,2]`, http.StatusBadRequest, ""},
		{"two values", "application/json", `{"name":"a"}{"name":"b"}`, http.StatusBadRequest, ""},
		{"too large", "application/json", `{"name":"` + strings.Repeat("x", 100) + `"}`, http.StatusRequestEntityTooLarge, ""},
		{"nested", "application/json", `{"inner":{"label":"x"},"labels":{"a":"b","A":"c"}}`, 0, ""},
		{"duplicate key", "application/json", `{"name":"a","name":"b"}`, http.StatusBadRequest, `"name"`},
		{"case variant key", "application/json", `{"NAME":"a"}`, http.StatusBadRequest, `"NAME"`},
		{"nested case variant", "application/json", `{"inner":{"Label":"x"}}`, http.StatusBadRequest, `"Label"`},
		{"nested duplicate", "application/json", `{"labels":{"a":"b","a":"c"}}`, http.StatusBadRequest, `"a"`},
		{"nested unknown field", "application/json", `{"inner":{"label":"x","admin":true}}`, http.StatusBadRequest, `"admin"`},
		{"ends inside the value", "application/json", `{"inner":{"label":"x"`, http.StatusBadRequest, "ends too soon"},
		{"only spaces", "application/json", "  \n ", http.StatusBadRequest, "empty"},
		{"number out of range", "application/json", `{"count":1e400}`, http.StatusBadRequest, `"count"`},
		{"trailing garbage", "application/json", `{"name":"a"} x`, http.StatusBadRequest, "single"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(tt.body))
			if tt.contentType != "" {
				r.Header.Set("Content-Type", tt.contentType)
			}
			r.Body = http.MaxBytesReader(httptest.NewRecorder(), r.Body, 96)
			err := ReadJSONBody(r)
			if err == nil {
				var data []byte
				if data, err = io.ReadAll(r.Body); err != nil {
					t.Fatal(err)
				}
				var p payload
				err = UnmarshalStrict(data, &p)
			}
			if tt.wantStatus == 0 {
				if err != nil {
					t.Fatalf("ReadJSONBody, UnmarshalStrict: %v", err)
				}
				return
			}
			e, ok := errors.AsType[*Error](err)
			if !ok {
				t.Fatalf("ReadJSONBody, UnmarshalStrict = %v, want an *Error", err)
			}
			if e.Status != tt.wantStatus || e.Detail == "" {
				t.Fatalf("got %d %q, want %d with a detail", e.Status, e.Detail, tt.wantStatus)
			}
			if !strings.Contains(e.Detail, tt.wantKey) {
				t.Fatalf("detail %q does not name the key %s", e.Detail, tt.wantKey)
			}
		})
	}
}

func TestWriteErrorHidesUnexpectedErrors(t *testing.T) {
	rec := httptest.NewRecorder()
	WriteError(rec, httptest.NewRequest(http.MethodGet, "/x", nil), errSecret{})
	if rec.Code != http.StatusInternalServerError {
		t.Fatalf("status = %d", rec.Code)
	}
	if strings.Contains(rec.Body.String(), "password") {
		t.Fatalf("internal error leaked: %s", rec.Body)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("Content-Type = %q", ct)
	}
}

type errSecret struct{}

func (errSecret) Error() string { return "dial db: password rejected" }

// TestJSONBody: the middleware refuses a body before the handler runs, and
// leaves a request without one (GET, HEAD) alone.
func TestJSONBody(t *testing.T) {
	tests := []struct {
		method, contentType, body string
		want                      int
	}{
		{http.MethodPost, "application/json", `{"a":1}`, http.StatusNoContent},
		{http.MethodPost, "text/plain", `{"a":1}`, http.StatusUnsupportedMediaType},
		{http.MethodPut, "application/json", `{"a":1} {}`, http.StatusBadRequest},
		{http.MethodGet, "", "", http.StatusNoContent},
		{http.MethodHead, "", "", http.StatusNoContent},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.contentType, func(t *testing.T) {
			var read string
			h := JSONBody(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				b, _ := io.ReadAll(r.Body)
				read = string(b)
				w.WriteHeader(http.StatusNoContent)
			}))
			r := httptest.NewRequest(tt.method, "/", strings.NewReader(tt.body))
			if tt.contentType != "" {
				r.Header.Set("Content-Type", tt.contentType)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)
			if rec.Code != tt.want {
				t.Fatalf("got %d %s, want %d", rec.Code, rec.Body, tt.want)
			}
			if tt.want == http.StatusNoContent && read != tt.body {
				t.Fatalf("the handler read %q, want the body %q", read, tt.body)
			}
			if tt.want != http.StatusNoContent && rec.Header().Get("Content-Type") != "application/problem+json" {
				t.Fatalf("a refusal without a problem: %q", rec.Header().Get("Content-Type"))
			}
		})
	}
}
