package notfound

import (
	"errors"
	"fmt"
	"testing"
)

func TestErrorfNamesWhatAndMatches(t *testing.T) {
	err := fmt.Errorf("publish: %w", Errorf("no item %s in the catalog", "x1"))
	if err.Error() != "publish: no item x1 in the catalog" || !errors.Is(err, Err) {
		t.Errorf("%q, is not-found %v", err, errors.Is(err, Err))
	}
	if errors.Is(errors.New("no item"), Err) {
		t.Error("another error matches")
	}
}
