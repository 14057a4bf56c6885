package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"reflect"
	"strings"
)

// ReadJSONBody checks the body of a request before a handler decodes it: the
// content type must be application/json (else 415), the body one JSON value
// (else 400) within the body limit (else 413). GET and HEAD requests, which
// carry no body to decode, pass unchecked. The body is read whole and
// left on r for the handler to read again, from memory. The keys are checked
// when it is decoded: the body type's UnmarshalJSON calls UnmarshalStrict.
// The returned error is an *Error ready for WriteError.
func ReadJSONBody(r *http.Request) error {
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		return nil
	}
	mediaType, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mediaType != "application/json" {
		return &Error{Status: http.StatusUnsupportedMediaType, Detail: "Content-Type must be application/json"}
	}
	body, err := readBody(r)
	if err != nil {
		return decodeError(err)
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return decodeError(io.EOF)
	}
	// Decoders stop after the first value: what follows it is refused
	// here. json.Valid scans without allocating; the detailed reason is
	// found only for a body that fails.
	if !json.Valid(body) {
		var v anyValue
		return decodeError(json.Unmarshal(body, &v))
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	return nil
}

// JSONBody is ReadJSONBody as middleware: a refused body is answered with its
// problem.
func JSONBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := ReadJSONBody(r); err != nil {
			WriteError(w, r, err)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// anyValue takes any JSON value and keeps nothing: json.Unmarshal into it
// only checks that its input is one valid JSON value.
type anyValue struct{}

func (*anyValue) UnmarshalJSON([]byte) error { return nil }

// UnmarshalStrict decodes data, one JSON value, into dst strictly: no key
// twice in an object, every key spelt exactly as dst's field and none that
// dst does not declare (else 400, naming the key). A body type calls it from
// its UnmarshalJSON, with dst of a type without that method. The returned
// error is an *Error ready for WriteError.
//
// encoding/json alone takes the last of duplicate keys and matches keys
// regardless of case: a proxy or validator in front of the service, reading
// the first key or only the exact one, would see another value than the
// service does.
func UnmarshalStrict(data []byte, dst any) error {
	// The keys are checked as the tokens stream past, which needs no copy
	// of data; json.Unmarshal then decodes data where it lies.
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber() // a number is checked by its field's type, below
	if err := checkKeys(dec, reflect.TypeOf(dst)); err != nil {
		if errors.Is(err, io.EOF) && len(bytes.TrimSpace(data)) > 0 {
			err = io.ErrUnexpectedEOF // the data ends inside the value
		}
		return keysError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return &Error{Status: http.StatusBadRequest, Detail: "the body must hold a single JSON value"}
	}
	if err := json.Unmarshal(data, dst); err != nil {
		return decodeError(err)
	}
	return nil
}

// preallocateLimit bounds the buffer readBody allocates on the word of a
// declared Content-Length, for a caller that did not bound the body.
const preallocateLimit = 1 << 20

// readBody reads the whole body into one buffer, allocated once from the
// declared length. io.ReadAll starts small and doubles as it fills: a body
// held half-sent would keep up to twice its size, and every body would leave
// the smaller buffers behind as garbage. Only a chunked body, whose length
// nothing declares, grows that way; LimitBody bounds it.
func readBody(r *http.Request) ([]byte, error) {
	if r.ContentLength < 0 {
		return io.ReadAll(r.Body)
	}
	// One byte more than declared, so that the read that finds the end
	// fits: net/http never delivers more than the declared length.
	buf := make([]byte, 0, min(r.ContentLength, preallocateLimit)+1)
	for {
		n, err := r.Body.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if errors.Is(err, io.EOF) {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)] // a declared length that lied
		}
	}
}

// keysError is the answer to checkKeys' error: the problem it names, or the
// reason the body is no valid JSON.
func keysError(err error) *Error {
	if keyErr, ok := errors.AsType[*keyError](err); ok {
		return &Error{Status: http.StatusBadRequest, Detail: keyErr.msg}
	}
	return decodeError(err)
}

// keyError is a key checkKeys refuses.
type keyError struct{ msg string }

func (e *keyError) Error() string { return e.msg }

// checkKeys reads the next JSON value from dec, which decodes into a t, and
// refuses a key given twice in one object, one that matches a field of a
// struct only when case is ignored, or one that matches none, as a json.Decoder
// with DisallowUnknownFields would. t is nil for values decoded into no type
// checkKeys knows of; their keys are only checked for duplicates.
func checkKeys(dec *json.Decoder, t reflect.Type) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	// An interface takes any keys; a json.Unmarshaler knows its own.
	if t != nil && (t.Kind() == reflect.Interface || reflect.PointerTo(t).Implements(reflect.TypeFor[json.Unmarshaler]())) {
		t = nil
	}
	switch tok {
	case json.Delim('['):
		var elem reflect.Type
		if t != nil && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) {
			elem = t.Elem()
		}
		for dec.More() {
			if err := checkKeys(dec, elem); err != nil {
				return err
			}
		}
	case json.Delim('{'):
		var fields map[string]reflect.Type
		var elem reflect.Type
		if t != nil && t.Kind() == reflect.Struct {
			fields = jsonFields(t)
		} else if t != nil && t.Kind() == reflect.Map {
			elem = t.Elem()
		}
		seen := make(map[string]bool)
		for dec.More() {
			tok, err := dec.Token()
			if err != nil {
				return err
			}
			key, _ := tok.(string)
			if seen[key] {
				return &keyError{fmt.Sprintf("key %q appears more than once", key)}
			}
			seen[key] = true
			valueType := elem
			if fields != nil {
				ft, ok := fields[key]
				if !ok {
					for name := range fields {
						if strings.EqualFold(name, key) {
							return &keyError{fmt.Sprintf("unknown field %q (did you mean %q? field names are case-sensitive)", key, name)}
						}
					}
					return &keyError{fmt.Sprintf("unknown field %q", key)}
				}
				valueType = ft
			}
			if err := checkKeys(dec, valueType); err != nil {
				return err
			}
		}
	default:
		return nil // a scalar
	}
	_, err = dec.Token() // the closing delimiter
	return err
}

// jsonFields maps the JSON names of the fields of struct type t to their
// types, as encoding/json names them: the tag's name, else the field's name;
// "-" and unexported fields are left out, embedded structs' fields promoted.
func jsonFields(t reflect.Type) map[string]reflect.Type {
	fields := make(map[string]reflect.Type)
	for _, f := range reflect.VisibleFields(t) {
		tag := f.Tag.Get("json")
		if !f.IsExported() || tag == "-" || f.Anonymous && tag == "" && f.Type.Kind() == reflect.Struct {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if name == "" {
			name = f.Name
		}
		fields[name] = f.Type
	}
	return fields
}

func decodeError(err error) *Error {
	bad := func(format string, args ...any) *Error {
		return &Error{Status: http.StatusBadRequest, Detail: fmt.Sprintf(format, args...)}
	}
	if tooLarge, ok := errors.AsType[*http.MaxBytesError](err); ok {
		return &Error{Status: http.StatusRequestEntityTooLarge, Detail: fmt.Sprintf("the body must not exceed %d bytes", tooLarge.Limit)}
	}
	if syntax, ok := errors.AsType[*json.SyntaxError](err); ok {
		switch msg := syntax.Error(); {
		case strings.HasSuffix(msg, "after top-level value"):
			return bad("the body must hold a single JSON value")
		case msg == "unexpected end of JSON input":
			return bad("the body is not valid JSON (it ends too soon)")
		}
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
