// Package notfound marks errors about something an operator or a client
// named that is not there: the message names it ("no item X in the
// catalog"), and errors.Is(err, notfound.Err) tells it apart (exit 3,
// HTTP 404) without a generic "not found:" in front.
package notfound

import "fmt"

// Err is what errors.Is matches every not-found error against.
var Err = sentinel{}

type sentinel struct{}

func (sentinel) Error() string { return "not found" }

// Errorf is a not-found error with the message given.
func Errorf(format string, args ...any) error {
	return &notFound{msg: fmt.Sprintf(format, args...)}
}

type notFound struct{ msg string }

func (e *notFound) Error() string { return e.msg }

// Is makes errors.Is(err, Err) true.
func (e *notFound) Is(target error) bool { return target == Err }
