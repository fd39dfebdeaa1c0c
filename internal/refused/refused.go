// Package refused marks errors about an input that cannot be taken as
// given (a set or a piece that breaks a rule): the message says what to
// change, and errors.Is(err, refused.Err) tells it apart (exit 2, HTTP
// 400) from a failure of avo or the servers it uses.
package refused

import "fmt"

// Err is what errors.Is matches every refusal against.
var Err = sentinel{}

type sentinel struct{}

func (sentinel) Error() string { return "refused" }

// Errorf is a refusal with the message given.
func Errorf(format string, args ...any) error {
	return &refusal{msg: fmt.Sprintf(format, args...)}
}

type refusal struct{ msg string }

func (e *refusal) Error() string { return e.msg }

// Is makes errors.Is(err, Err) true.
func (e *refusal) Is(target error) bool { return target == Err }
