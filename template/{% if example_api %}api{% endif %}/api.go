// Package api holds the service's OpenAPI description, embedded so that the
// binary serves the very description it was built from.
package api

import _ "embed"

//go:embed openapi.yaml
var spec []byte

// Spec returns the OpenAPI description (openapi.yaml). The slice is shared:
// callers must not change it.
func Spec() []byte { return spec }
