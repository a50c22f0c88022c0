package desktop

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/seed18fc72c3/vigil/capture"
	"github.com/seed18fc72c3/vigil/capture/frame"
)

// Target is one connection to a graphical target.
type Target interface {
	// Size is the desktop size after the handshake.
	Size() (w, h int)
	// Run writes the target's screen into e until ctx ends or the target goes away, starting with
	// e.Size and a full-screen update; it returns the cause (nil only when ctx ended).
	Run(ctx context.Context, e *frame.Emitter) error
	// Input sends one key, pointer or clipboard event to the target.
	Input(in frame.Input) error
	// Resize asks the target for a new desktop size; errors.ErrUnsupported if it cannot.
	Resize(w, h int) error
	Close() error
}

// Sentinel errors. The first group are causes a session ends with (Session.Err, Recording.Close,
// AuditEvent.Cause); the second are errors of the live controls and of Input.
var (
	ErrUserExit         = errors.New("user exit")
	ErrTargetClosed     = errors.New("target closed the connection")
	ErrRecordingFailure = errors.New("recording failure")
	ErrShutdown         = errors.New("gateway shutting down")
	// ErrTerminated is the cause of a session an auditor ended; the cause itself is a
	// *TerminatedError naming who and why.
	ErrTerminated = errors.New("terminated by an auditor")

	ErrNoSession     = errors.New("no such live session")
	ErrAlreadyPaused = errors.New("session already paused")
	ErrNotPaused     = errors.New("session not paused")
	ErrNoActor       = errors.New("no actor named")
	// ErrPaused is returned by Input while an auditor holds the session: the input is dropped,
	// neither recorded nor forwarded.
	ErrPaused = errors.New("session paused")
	// ErrEnded is returned by Input and Attach once the session has ended.
	ErrEnded = errors.New("session ended")
)

// TerminatedError is the cause of a session an auditor terminated. It wraps ErrTerminated.
type TerminatedError struct{ By, Reason string }

func (e *TerminatedError) Error() string {
	if e.Reason == "" {
		return "terminated by " + e.By
	}
	return "terminated by " + e.By + ": " + e.Reason
}

func (e *TerminatedError) Unwrap() error { return ErrTerminated }

// KeyPolicy says which keys reach the recording.
type KeyPolicy uint8

const (
	// KeysPrintableRedacted (the default) withholds printable keys (frame.Input.Printable): a key
	// press is recorded as a TypeRedacted event of count 1 and its release not at all. Control
	// keys, modifiers and function keys are recorded.
	KeysPrintableRedacted KeyPolicy = iota
	// KeysAll records every key.
	KeysAll
)

// ParseKeyPolicy reads the config's spelling: "printable-redacted" (or "") and "all".
func ParseKeyPolicy(s string) (KeyPolicy, error) {
	switch s {
	case "", "printable-redacted":
		return KeysPrintableRedacted, nil
	case "all":
		return KeysAll, nil
	}
	return 0, errors.New("desktop: keys policy " + s + ": want printable-redacted or all")
}

// RingConfig is the capture ring of a graphical session (bigger than a terminal's: a full 1080p
// update is 8 MB of pixels).
func RingConfig() capture.Config {
	return capture.Config{ArenaBytes: 64 << 20, Records: 64 << 10, MaxRead: 1 << 20, StallTimeout: 10 * time.Second}
}

// Info describes a session to the Recorder, the audit log and the live list.
type Info struct {
	ID, User, Target, Account, Remote string
	Protocol                          string // "vnc", "rdp"
	Via                               string // the front end: "rfb", "web"
	Start                             time.Time
	Width, Height                     int
}

// Recorder records sessions.
type Recorder interface {
	// Start begins recording the session from ring; it takes a lossless reader before returning,
	// so it sees every event. An error refuses the session (fail closed). The recording should
	// call ring.Fail with a cause wrapping ErrRecordingFailure when it cannot persist.
	Start(ctx context.Context, info Info, ring *capture.Ring) (Recording, error)
}

// Recording is a recording in progress. Close is called once, after the ring is closed, with the
// cause the session ended; it returns when the recording is persisted.
type Recording interface {
	Close(cause error) error
}

// AuditEvent is one line of the audit trail; never a secret.
type AuditEvent struct {
	Time    time.Time
	Kind    string // AuditSessionStart, AuditSessionEnd, AuditPause, AuditResume, AuditTerminate
	Session string
	User    string
	Target  string
	Remote  string
	Detail  string
	Cause   error
	Actor   string
}

// Audit event kinds, spelled as proxy/ssh spells them so one audit log reads alike.
const (
	AuditSessionStart = "session-start"
	AuditSessionEnd   = "session-end"
	AuditPause        = "session-pause"
	AuditResume       = "session-resume"
	AuditTerminate    = "session-terminate"
)

// Config configures sessions. Recorder is required.
type Config struct {
	Ring     capture.Config // zero: RingConfig()
	Keys     KeyPolicy
	Recorder Recorder
	Registry *Registry        // nil: the session is not listed
	Audit    func(AuditEvent) // nil: no audit
	Logger   *slog.Logger     // nil: slog.Default()
}
