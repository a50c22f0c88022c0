package ssh

import (
	"bytes"
	"io"
	"sync"

	"github.com/seed18fc72c3/vigil/capture"
	"github.com/seed18fc72c3/vigil/proxy/redact"
)

// lockedTracker shares one redact.Tracker between a channel's output and input pumps.
type lockedTracker struct {
	mu sync.Mutex
	t  *redact.Tracker
}

func newLockedTracker() *lockedTracker { return &lockedTracker{t: redact.NewTracker(nil)} }

func (l *lockedTracker) Output(p []byte) {
	l.mu.Lock()
	l.t.Output(p)
	l.mu.Unlock()
}

func (l *lockedTracker) Input(p []byte) {
	l.mu.Lock()
	l.t.Input(p)
	l.mu.Unlock()
}

func (l *lockedTracker) Secret() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.t.Secret()
}

// pumpOutput copies target output into the ring and on to the user. The tracker sees each chunk
// before the user does, so a prompt is known before anyone can answer it.
func (sc *sessionChannel) pumpOutput(src io.Reader, dst io.Writer, stderr bool) {
	p := sc.s.ring.NewProducer()
	for {
		ev, err := p.ReadEvent(src, capture.TypeOutput, sc.id)
		if len(ev.Payload) > 0 {
			sc.s.touch()
			if sc.tracker != nil {
				sc.tracker.Output(ev.Payload)
			}
			if sc.observer != nil && !stderr {
				sc.observer.FromServer(ev.Payload)
			}
			if _, werr := dst.Write(ev.Payload); werr != nil {
				return
			}
		}
		if err != nil {
			if err != io.EOF {
				sc.s.fail(err)
			}
			return
		}
	}
}

// pumpInput copies user input into the ring and on to the target, then half-closes upstream.
func (sc *sessionChannel) pumpInput() {
	defer sc.up.CloseWrite()
	p := sc.s.ring.NewProducer()
	if sc.tracker == nil {
		// File transfers: straight from the network into ring memory, no copy.
		for {
			ev, err := p.ReadEvent(sc.ch, capture.TypeInput, sc.id)
			if len(ev.Payload) > 0 {
				sc.s.touch()
				if sc.observer != nil {
					sc.observer.FromClient(ev.Payload)
				}
				if !sc.s.holdWhilePaused() {
					return
				}
				if _, werr := sc.up.Write(ev.Payload); werr != nil {
					return
				}
			}
			if err != nil {
				if err != io.EOF {
					sc.s.fail(err)
				}
				return
			}
		}
	}
	// Interactive input is read first and classified after it arrived: deciding before a blocking
	// read would miss a prompt that appears while the read waits, and record the password typed
	// at it. Keystrokes are small, the extra copy is cheap.
	buf := make([]byte, 32<<10)
	for {
		n, err := sc.ch.Read(buf)
		if n > 0 {
			sc.s.touch()
			// Held before it is recorded, so the recording shows it when the target got it.
			if !sc.s.holdWhilePaused() || !sc.forwardInput(p, buf[:n]) {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// forwardInput records chunk (redacted while a secret prompt is active) and sends it upstream.
func (sc *sessionChannel) forwardInput(p *capture.Producer, chunk []byte) bool {
	secret := sc.tracker.Secret()
	sc.tracker.Input(chunk)
	r := bytes.NewReader(chunk)
	for r.Len() > 0 {
		var (
			fwd []byte
			err error
		)
		if secret {
			fwd, _, err = p.ReadEventRedacted(r, sc.id)
		} else {
			var ev capture.Event
			ev, err = p.ReadEvent(r, capture.TypeInput, sc.id)
			fwd = ev.Payload
		}
		if len(fwd) > 0 {
			if _, werr := sc.up.Write(fwd); werr != nil {
				return false
			}
		}
		if err != nil && err != io.EOF {
			sc.s.fail(err)
			return false
		}
	}
	return true
}
