package cloudevent

import (
	"errors"
	"fmt"
	"strconv"
)

// ErrTooLarge is wrapped by the error ReadRequest and ReadResponse return
// when a body is longer than the allowed maximum.
var ErrTooLarge = errors.New("cloudevent: body too large")

// ErrCorruptRecord is wrapped by the error UnmarshalRecord returns for bytes
// that are not a record MarshalRecord could have written.
var ErrCorruptRecord = errors.New("cloudevent: corrupt record")

// DefaultMaxBytes is the body limit used when a maxBytes argument is <= 0.
const DefaultMaxBytes = 4 << 20

// ValidationError says what is wrong with an event or with the message that
// carried it. Callers answer it with 400 and a JSON body naming Attribute and
// Problem.
type ValidationError struct {
	// Index is the position of the event in a batch, -1 when not in a batch.
	Index int
	// Attribute is the attribute at fault, "" when the problem is the
	// message as a whole (for example invalid JSON).
	Attribute string
	// Problem says what is wrong, in lower case, without the attribute name.
	Problem string
}

// Error returns, for example, `event 3: attribute "source": required but
// missing`.
func (e *ValidationError) Error() string {
	var b []byte
	if e.Index >= 0 {
		b = append(b, "event "...)
		b = strconv.AppendInt(b, int64(e.Index), 10)
		b = append(b, ": "...)
	}
	if e.Attribute != "" {
		b = append(b, "attribute "...)
		b = strconv.AppendQuote(b, e.Attribute)
		b = append(b, ": "...)
	}
	b = append(b, e.Problem...)
	return string(b)
}

// invalid returns a *ValidationError outside a batch.
func invalid(attr, format string, args ...any) *ValidationError {
	return &ValidationError{Index: -1, Attribute: attr, Problem: fmt.Sprintf(format, args...)}
}

// inBatch sets the batch index on err if it is a *ValidationError.
func inBatch(err error, i int) error {
	var ve *ValidationError
	if errors.As(err, &ve) {
		ve.Index = i
	}
	return err
}
