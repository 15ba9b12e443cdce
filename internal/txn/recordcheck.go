package txn

import (
	"errors"
	"fmt"

	"github.com/fjordhq/fjord/internal/kwire"
)

// checkValue walks a __transaction_state value without decoding it, and
// fails unless every array and tagged field it announces is present (see
// kwire.Walker for why kmsg needs the guard).
func checkValue(value []byte) error {
	w := kwire.NewWalker(value)
	version := w.Int16()
	if w.Bad() {
		return errors.New("short value")
	}
	if version != 0 && version != valueVersion {
		return fmt.Errorf("unknown value version %d", version)
	}
	flexible := version >= 1
	w.Skip(8 + 2 + 4 + 1) // producer id, epoch, timeout, state
	topics := w.ArrayLen(flexible)
	for i := 0; i < topics && !w.Bad(); i++ {
		w.String(flexible)
		w.Skip(4 * w.ArrayLen(flexible))
		if flexible {
			w.Tags()
		}
	}
	w.Skip(8 + 8) // last update and start timestamps
	if flexible {
		w.Tags()
	}
	if w.Bad() {
		return errors.New("truncated or inconsistent value")
	}
	return nil
}
