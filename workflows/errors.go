package workflows

import (
	"errors"
	"strings"

	"go.temporal.io/sdk/temporal"
)

// Brief is a failure in one line, as operators read it: where the chain
// reaches Temporal's errors, their part becomes the message of the first
// application error in it (which names what failed, where, why and how
// often it was tried) without Temporal's wrapping and repetitions; what
// avo said around it stays. The whole chain stays in err.Error().
func Brief(err error) string {
	if err == nil {
		return ""
	}
	full := err.Error()
	for e := err; e != nil; e = errors.Unwrap(e) {
		switch e.(type) {
		case *temporal.WorkflowExecutionError, *temporal.ChildWorkflowExecutionError, *temporal.ActivityError,
			*temporal.ApplicationError, *temporal.CanceledError, *temporal.TimeoutError:
			return strings.Join(strings.Fields(strings.Replace(full, e.Error(), cause(e), 1)), " ")
		}
	}
	return strings.Join(strings.Fields(full), " ")
}

// cause is the one-line message of a chain of Temporal errors.
func cause(err error) string {
	var appErr *temporal.ApplicationError
	var canErr *temporal.CanceledError
	var toErr *temporal.TimeoutError
	var msg string
	switch {
	case errors.As(err, &appErr):
		msg = appErr.Message()
	case errors.As(err, &canErr):
		msg = "cancelled"
	case errors.As(err, &toErr):
		msg = "timed out (" + strings.ToLower(strings.TrimPrefix(toErr.TimeoutType().String(), "TIMEOUT_TYPE_")) + ")"
	default:
		msg = err.Error()
	}
	return msg
}
