// Package option holds what the Options of SAM's library packages share: a
// Secret that never formats, and FieldError, which names the Options field
// a Validate method rejects so that the caller mapping configuration onto
// Options (jobs) can name its own setting instead.
//
// It imports nothing of SAM's.
package option

import (
	"errors"
	"fmt"
)

// Secret hides a value from logs: it formats as "[redacted]" whatever the
// verb, so a secret printed by accident shows nothing.
type Secret string

// String implements fmt.Stringer.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return "[redacted]"
}

// GoString implements fmt.GoStringer.
func (s Secret) GoString() string { return s.String() }

// MarshalText keeps secrets out of JSON logs.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Reveal returns the secret for the one place that must send it.
func (s Secret) Reveal() string { return string(s) }

// Decode lets envconfig read a Secret.
func (s *Secret) Decode(v string) error { *s = Secret(v); return nil }

// FieldError reports one invalid field of an Options struct.
type FieldError struct {
	// Field is the Go name of the field, such as "Token".
	Field string
	// Value is the offending value as text; empty for secrets.
	Value  string
	Reason string
}

func (e *FieldError) Error() string {
	if e.Value == "" {
		return e.Field + " " + e.Reason
	}
	return fmt.Sprintf("%s %q %s", e.Field, e.Value, e.Reason)
}

// Invalid returns a FieldError; reason is a format with args.
func Invalid(field, value, reason string, args ...any) error {
	return &FieldError{Field: field, Value: value, Reason: fmt.Sprintf(reason, args...)}
}

// Field returns the field err names, if it wraps a FieldError.
func Field(err error) (string, bool) {
	var fe *FieldError
	if errors.As(err, &fe) {
		return fe.Field, true
	}
	return "", false
}
