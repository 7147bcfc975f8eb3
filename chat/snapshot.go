package chat

import (
	"fmt"
	"io"
	"os"

	bolt "go.etcd.io/bbolt"
)

// WriteSnapshot writes a consistent copy of the store, as it is when the
// call begins, to w while writers go on. It holds a read transaction for
// its whole length, and with it the lock a destroy needs to swap files and
// the one bbolt needs to grow the file: give it a fast w (a local file),
// never a client. It returns the bytes written.
func (s *Store) WriteSnapshot(w io.Writer) (int64, error) {
	var n int64
	err := s.view(func(tx *bolt.Tx) error {
		var err error
		n, err = tx.WriteTo(w)
		return err
	})
	if err != nil {
		return n, fmt.Errorf("copy the store: %w", err)
	}
	return n, nil
}

// Snapshot copies the room's store, consistent as of the call, into a
// file of its own that no name points to (it disappears when closed) and
// returns it positioned at its start, with its size. The copy goes to the
// data directory's disk first so that a slow reader of the snapshot never
// holds up the room. The caller closes the file.
func (r *Room) Snapshot() (*os.File, int64, error) {
	f, err := os.CreateTemp(r.layout.Dir, ".snapshot-*")
	if err != nil {
		return nil, 0, fmt.Errorf("make room for a copy of the store: %w", err)
	}
	// Unlinked at once: a crash leaves nothing behind.
	os.Remove(f.Name())
	n, err := r.store.WriteSnapshot(f)
	if err == nil {
		if _, err = f.Seek(0, io.SeekStart); err != nil {
			err = fmt.Errorf("read the copy of the store: %w", err)
		}
	}
	if err != nil {
		f.Close()
		if isDiskFull(err) {
			return nil, 0, fmt.Errorf("copy the store: %w", ErrStoreFull)
		}
		return nil, 0, err
	}
	return f, n, nil
}
