package audit

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"syscall"
	"time"
)

// Event is one line of the audit log. It never carries a secret.
type Event struct {
	Seq     uint64    `json:"seq"`
	Time    time.Time `json:"time"`
	Kind    string    `json:"kind"`
	User    string    `json:"user,omitempty"`
	Actor   string    `json:"actor,omitempty"` // who acted on a session that is not theirs (an auditor)
	Target  string    `json:"target,omitempty"`
	Session string    `json:"session,omitempty"`
	Remote  string    `json:"remote,omitempty"`
	Method  string    `json:"method,omitempty"`
	Detail  string    `json:"detail,omitempty"`
	Cause   string    `json:"cause,omitempty"`
	// Prev is the hash of the previous line ("" for the first); Hash is this line's.
	Prev string `json:"prev"`
	Hash string `json:"hash"`
}

// ErrBroken means the chain does not hold: a line was edited, removed, reordered or inserted.
var ErrBroken = errors.New("audit: chain broken")

// maxLine bounds one line, so a damaged file cannot make a reader buffer without end.
const maxLine = 64 << 10

// Log appends events to an audit file. It is safe for concurrent use.
type Log struct {
	mu   sync.Mutex
	f    *os.File
	seq  uint64
	last string
	now  func() time.Time
}

// Open opens (or creates, 0600) the audit log at path and checks its whole chain: a log that does
// not verify is not appended to, since appending would bury the evidence of tampering.
func Open(path string) (*Log, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	l := &Log{f: f, now: time.Now}
	if _, err := Verify(f, func(e Event) error { l.seq, l.last = e.Seq, e.Hash; return nil }); err != nil {
		f.Close()
		return nil, fmt.Errorf("audit: %s: %w", path, err)
	}
	return l, nil
}

// Append adds e to the log, filling in its sequence number, time (when zero) and chain hashes,
// and syncs the file before it returns. Processes share the file (the gateway, and CLI commands
// such as `vigil keys rotate`): an exclusive lock on the file is held while the last line is
// re-read and the new one written, so the chain never forks.
func (l *Log) Append(e Event) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return errors.New("audit: log closed")
	}
	if err := syscall.Flock(int(l.f.Fd()), syscall.LOCK_EX); err != nil {
		return fmt.Errorf("audit: lock: %w", err)
	}
	defer syscall.Flock(int(l.f.Fd()), syscall.LOCK_UN)
	if err := l.readTail(); err != nil {
		return err
	}
	e.Seq = l.seq + 1
	if e.Time.IsZero() {
		e.Time = l.now()
	}
	e.Time = e.Time.UTC()
	e.Prev = l.last
	e.Hash = ""
	e.Hash = hashOf(e)
	line, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	if _, err := l.f.Write(append(line, '\n')); err != nil {
		return fmt.Errorf("audit: append: %w", err)
	}
	if err := l.f.Sync(); err != nil {
		return fmt.Errorf("audit: sync: %w", err)
	}
	l.seq, l.last = e.Seq, e.Hash
	return nil
}

// readTail sets seq and last from the file's last line, which another process may have written.
func (l *Log) readTail() error {
	end, err := l.f.Seek(0, io.SeekEnd)
	if err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	if end == 0 {
		l.seq, l.last = 0, ""
		return nil
	}
	start := max(0, end-maxLine-1)
	buf := make([]byte, end-start)
	if _, err := l.f.ReadAt(buf, start); err != nil {
		return fmt.Errorf("audit: read tail: %w", err)
	}
	buf = bytes.TrimSuffix(buf, []byte("\n"))
	if i := bytes.LastIndexByte(buf, '\n'); i >= 0 {
		buf = buf[i+1:]
	}
	var e Event
	if err := json.Unmarshal(buf, &e); err != nil || hashOf(e) != e.Hash {
		return fmt.Errorf("audit: %w: the last line does not verify", ErrBroken)
	}
	l.seq, l.last = e.Seq, e.Hash
	return nil
}

// Close closes the file.
func (l *Log) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return nil
	}
	err := l.f.Close()
	l.f = nil
	return err
}

// hashOf is the SHA-256 of the event's JSON with Hash empty; Prev is inside, which chains it.
func hashOf(e Event) string {
	e.Hash = ""
	b, _ := json.Marshal(e)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// Verify reads an audit log from r, checks every line's hash, sequence and link to the line before,
// and calls each (if not nil) with every event in order. It returns the number of events, or an
// error wrapping ErrBroken that names the first line that does not hold.
func Verify(r io.Reader, each func(Event) error) (int, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	var prev string
	n := 0
	for {
		line, err := readLine(br)
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, fmt.Errorf("line %d: %w", n+1, err)
		}
		var e Event
		dec := json.NewDecoder(bytes.NewReader(line))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&e); err != nil {
			return n, fmt.Errorf("line %d: %w: not an audit event: %v", n+1, ErrBroken, err)
		}
		switch {
		case e.Seq != uint64(n+1):
			return n, fmt.Errorf("line %d: %w: sequence %d, want %d (a line was removed, inserted or moved)", n+1, ErrBroken, e.Seq, n+1)
		case e.Prev != prev:
			return n, fmt.Errorf("line %d: %w: does not follow the line before it", n+1, ErrBroken)
		case hashOf(e) != e.Hash:
			return n, fmt.Errorf("line %d: %w: its content does not match its hash (edited)", n+1, ErrBroken)
		}
		if each != nil {
			if err := each(e); err != nil {
				return n, err
			}
		}
		prev = e.Hash
		n++
	}
}

func readLine(br *bufio.Reader) ([]byte, error) {
	var line []byte
	for {
		chunk, err := br.ReadSlice('\n')
		line = append(line, chunk...)
		if len(line) > maxLine {
			return nil, fmt.Errorf("%w: line over %d bytes", ErrBroken, maxLine)
		}
		switch {
		case err == nil:
			return line[:len(line)-1], nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case err == io.EOF && len(line) > 0:
			return nil, fmt.Errorf("%w: the last line has no end (a write was cut short)", ErrBroken)
		default:
			return nil, err
		}
	}
}
