package group

import (
	"errors"

	"github.com/fjordhq/fjord/internal/kwire"
)

// checkGroupMetadataValue walks a group metadata value (kmsg's
// GroupMetadataValue, flexible from version 4) and fails unless every array
// and tagged field it announces is present, before kmsg decodes it (see
// kwire.Walker for why kmsg needs the guard). Offset commit values need
// none: their one known tag ends kmsg's loop at the first missing byte.
func checkGroupMetadataValue(value []byte) error {
	w := kwire.NewWalker(value)
	version := w.Int16()
	flexible := version >= 4
	w.String(flexible)         // protocol type
	w.Skip(4)                  // generation
	w.NullableString(flexible) // protocol
	w.NullableString(flexible) // leader
	if version >= 2 {
		w.Skip(8) // current state timestamp
	}
	members := w.ArrayLen(flexible)
	for i := 0; i < members && !w.Bad(); i++ {
		w.String(flexible) // member id
		if version >= 3 {
			w.NullableString(flexible) // group instance id
		}
		w.String(flexible) // client id
		w.String(flexible) // client host
		if version >= 1 {
			w.Skip(4) // rebalance timeout
		}
		w.Skip(4)         // session timeout
		w.Bytes(flexible) // subscription
		w.Bytes(flexible) // assignment
		if flexible {
			w.Tags()
		}
	}
	if flexible {
		w.Tags()
	}
	if w.Bad() {
		return errors.New("truncated or inconsistent value")
	}
	return nil
}
