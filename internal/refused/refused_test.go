package refused

import (
	"errors"
	"fmt"
	"testing"
)

func TestErrorfSaysWhyAndMatches(t *testing.T) {
	err := fmt.Errorf("edit: %w", Errorf("a set needs a title"))
	if err.Error() != "edit: a set needs a title" || !errors.Is(err, Err) {
		t.Errorf("%q, is refused %v", err, errors.Is(err, Err))
	}
	if errors.Is(errors.New("a set needs a title"), Err) {
		t.Error("a plain error counts as refused")
	}
}
