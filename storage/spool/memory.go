package spool

// The uploader sends a small object from a copy kept in memory when Put wrote it, rather than
// opening and reading its spool file back: a recorder stores three objects per segment, two of
// them a few kB (checkpoint and signature), and for those the open, read and close cost more than
// the copy. The spool file stays the durable record: it is what a restart uploads, what Get serves
// and what a conflict is compared with.
const (
	// memObjectMax is the largest object kept in memory.
	memObjectMax = 1 << 20
	// memTotalMax bounds the copies held at once (while the remote is down they wait with the
	// queue); objects past it are read back from disk.
	memTotalMax = 32 << 20
)

// memCopy copies what passes through it, up to memObjectMax bytes; beyond that it gives up.
type memCopy struct {
	buf  []byte
	over bool
}

func (m *memCopy) Write(p []byte) (int, error) {
	if !m.over {
		if len(m.buf)+len(p) > memObjectMax {
			m.over, m.buf = true, nil
		} else {
			m.buf = append(m.buf, p...)
		}
	}
	return len(p), nil
}

// keep returns the copy to hold for an object of n bytes, or nil if it is not to be kept.
// Callers hold s.mu.
func (s *Spool) keep(m *memCopy, n int64) []byte {
	if m.over || int64(len(m.buf)) != n || s.memUsed+n > memTotalMax {
		return nil
	}
	s.memUsed += n
	return m.buf
}

// release drops e's copy. Callers hold s.mu.
func (s *Spool) release(e *entry) {
	s.memUsed -= int64(len(e.data))
	e.data = nil
}
