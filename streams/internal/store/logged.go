package store

// logged is a KeyValue whose writes also go to its changelog.
type logged struct {
	KeyValue
	log Logger
}

// Logged wraps kv so that every Put and Delete also goes to l, after the
// write succeeded. Restoration writes to kv itself, not through the
// wrapper, so that it does not log again what it reads from the changelog.
func Logged(kv KeyValue, l Logger) KeyValue {
	return &logged{KeyValue: kv, log: l}
}

func (s *logged) Put(key, value []byte) error {
	if err := s.KeyValue.Put(key, value); err != nil {
		return err
	}
	s.log.LogChange(key, value)
	return nil
}

func (s *logged) Delete(key []byte) error {
	if err := s.KeyValue.Delete(key); err != nil {
		return err
	}
	s.log.LogChange(key, nil)
	return nil
}

// DeleteRange logs a tombstone for each key it deletes: the changelog
// is a compacted topic of single keys and has no range deletion.
func (s *logged) DeleteRange(from, to []byte) error {
	it, err := s.KeyValue.Range(from, to)
	if err != nil {
		return err
	}
	var keys [][]byte
	for it.Next() {
		keys = append(keys, append([]byte(nil), it.Key()...))
	}
	if err := it.Err(); err != nil {
		_ = it.Close()
		return err
	}
	if err := it.Close(); err != nil {
		return err
	}
	if err := s.KeyValue.DeleteRange(from, to); err != nil {
		return err
	}
	for _, key := range keys {
		s.log.LogChange(key, nil)
	}
	return nil
}
