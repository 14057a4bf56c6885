// Package web holds the HTTP building blocks every handler shares: the
// middleware stack, RFC 9457 problem responses and strict JSON decoding. It
// knows nothing of the service's business.
package web

import (
	"errors"
	"net/http"
)

// Problem is an RFC 9457 problem details object.
type Problem struct {
	Type     string       `json:"type"`
	Title    string       `json:"title"`
	Status   int          `json:"status"`
	Detail   string       `json:"detail,omitempty"`
	Instance string       `json:"instance,omitempty"`
	Errors   []FieldError `json:"errors,omitempty"`
}

// FieldError names one invalid field of a request body.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// Error is an error that maps to an HTTP status and a detail message that is
// safe to show to the client.
type Error struct {
	Status int
	Detail string
	Fields []FieldError
}

func (e *Error) Error() string { return e.Detail }

// WriteProblem answers with an application/problem+json body for status.
func WriteProblem(w http.ResponseWriter, r *http.Request, p Problem) {
	if p.Type == "" {
		p.Type = "about:blank"
	}
	if p.Title == "" {
		p.Title = http.StatusText(p.Status)
	}
	if p.Instance == "" {
		p.Instance = r.URL.Path
	}
	writeJSON(w, "application/problem+json", p.Status, p)
}

// WriteError answers with the problem err describes: the status and detail of
// an *Error, or InternalError's for any other error.
func WriteError(w http.ResponseWriter, r *http.Request, err error) {
	if e, ok := errors.AsType[*Error](err); ok {
		WriteProblem(w, r, Problem{Status: e.Status, Detail: e.Detail, Errors: e.Fields})
		return
	}
	WriteError(w, r, InternalError())
}

// InternalError is the answer to an unexpected error, which a handler logs
// before returning it: a 500 that reveals nothing of the error.
func InternalError() *Error {
	return &Error{Status: http.StatusInternalServerError, Detail: "the server could not complete the request"}
}

// RequestError is the error to answer for a request that could not be read as
// its route expects (a path parameter of the wrong shape, a body that does not
// decode): err itself when it holds an *Error, else a 400 with err's message,
// which describes the client's request.
func RequestError(err error) error {
	if _, ok := errors.AsType[*Error](err); ok {
		return err
	}
	return &Error{Status: http.StatusBadRequest, Detail: err.Error()}
}

// WriteRequestError answers with the problem of RequestError(err).
func WriteRequestError(w http.ResponseWriter, r *http.Request, err error) {
	WriteError(w, r, RequestError(err))
}
