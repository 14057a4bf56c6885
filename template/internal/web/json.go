package web

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
)

// DecodeJSON decodes the request body into dst strictly: the content type must
// be application/json (else 415), the body one JSON value (else 400) with no
// fields dst does not declare (else 400), within the body limit (else 413).
// The returned error is an *Error ready for WriteError.
func DecodeJSON(r *http.Request, dst any) error {
	mediaType, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mediaType != "application/json" {
		return &Error{Status: http.StatusUnsupportedMediaType, Detail: "Content-Type must be application/json"}
	}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return decodeError(err)
	}
	if err := dec.Decode(&struct{}{}); !errors.Is(err, io.EOF) {
		if _, tooLarge := errors.AsType[*http.MaxBytesError](err); tooLarge {
			return decodeError(err)
		}
		return &Error{Status: http.StatusBadRequest, Detail: "the body must hold a single JSON value"}
	}
	return nil
}

func decodeError(err error) *Error {
	bad := func(format string, args ...any) *Error {
		return &Error{Status: http.StatusBadRequest, Detail: fmt.Sprintf(format, args...)}
	}
	if tooLarge, ok := errors.AsType[*http.MaxBytesError](err); ok {
		return &Error{Status: http.StatusRequestEntityTooLarge, Detail: fmt.Sprintf("the body must not exceed %d bytes", tooLarge.Limit)}
	}
	if syntax, ok := errors.AsType[*json.SyntaxError](err); ok {
		return bad("the body is not valid JSON (at byte %d)", syntax.Offset)
	}
	if typ, ok := errors.AsType[*json.UnmarshalTypeError](err); ok {
		if typ.Field == "" {
			return bad("the body must be a JSON %s", typ.Type.Kind())
		}
		return bad("field %q must be a JSON %s", typ.Field, typ.Type.Kind())
	}
	switch {
	case errors.Is(err, io.EOF):
		return bad("the body must not be empty")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return bad("the body is not valid JSON (it ends too soon)")
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		// encoding/json has no error type for this case.
		return bad("unknown field %s", strings.TrimPrefix(err.Error(), "json: unknown field "))
	}
	return bad("the body could not be read")
}

// WriteJSON answers with v encoded as JSON.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	writeJSON(w, "application/json", status, v)
}

func writeJSON(w http.ResponseWriter, contentType string, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		// Only a programming error (an unsupported type) gets here.
		http.Error(w, `{"title":"Internal Server Error","status":500}`, http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", contentType)
	w.WriteHeader(status)
	_, _ = w.Write(append(body, '\n'))
}
