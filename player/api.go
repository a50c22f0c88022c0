package player

import (
	"context"
	"errors"
	"io"
	"time"

	"github.com/seed18fc72c3/vigil/index"
)

// Role is what a person may do in the web UI.
type Role string

// Roles, as the access store names them.
const (
	RoleUser    Role = "user"    // sees only their own sessions
	RoleAuditor Role = "auditor" // sees, searches and replays every session; changes nothing
	RoleAdmin   Role = "admin"   // everything
)

// User is an authenticated person.
type User struct {
	Name string
	Role Role
}

// Errors of the interfaces below; implementations wrap them and the server tests with errors.Is.
var (
	// ErrBadCredentials: unknown user, wrong password or wrong TOTP code, not told apart.
	ErrBadCredentials = errors.New("player: bad credentials")
	// ErrNotFound: no session by that id.
	ErrNotFound = errors.New("player: not found")
	// ErrForbidden: the user holds no grant to that target (Desktops.Connect).
	ErrForbidden = errors.New("player: forbidden")
)

// Authenticator checks logins.
type Authenticator interface {
	// AuthenticatePassword returns the user for a right name and password, and an error wrapping
	// ErrBadCredentials otherwise (unknown users included, in the same time).
	AuthenticatePassword(ctx context.Context, name string, pw []byte) (User, error)
	// TOTPSecret returns the base32 TOTP secret the user enrolled, or "" if they have none.
	TOTPSecret(ctx context.Context, name string) (string, error)
	// User returns the user as the store holds them now, and an error wrapping ErrBadCredentials
	// or ErrNotFound if there is no longer such a user. It is asked on every request, so that a
	// demoted user's logins get the new role and a deleted user's logins end at once: keep it
	// cheap (no password hashing).
	User(ctx context.Context, name string) (User, error)
}

// SessionInfo describes one recorded (or still running) session.
type SessionInfo struct {
	ID       string        `json:"id"`
	User     string        `json:"user"`
	Target   string        `json:"target"`
	Account  string        `json:"account,omitempty"`
	Protocol string        `json:"protocol"`
	Remote   string        `json:"remote,omitempty"`
	Start    time.Time     `json:"start"`
	Live     bool          `json:"live"`             // no final manifest yet
	Duration time.Duration `json:"-"`                // from the end record, or the last segment
	Bytes    int64         `json:"bytes"`            // output bytes recorded
	Cause    string        `json:"cause,omitempty"`  // why it ended
	Broken   string        `json:"broken,omitempty"` // the manifest could not be read
}

// Segment is one segment of a recording, in session time.
type Segment struct {
	Index      int           `json:"index"`
	Start      time.Duration `json:"-"`
	End        time.Duration `json:"-"`
	PlainBytes int64         `json:"bytes"`
}

// Sessions is the recording store as the UI reads it.
type Sessions interface {
	// List returns every recording, in any order.
	List(ctx context.Context) ([]SessionInfo, error)
	// Get returns one recording and its segments in order; an error wrapping ErrNotFound if absent.
	Get(ctx context.Context, id string) (SessionInfo, []Segment, error)
	// OpenSegment returns the plaintext event log of segment i (checked against the manifest's
	// hash); an error wrapping ErrNotFound if there is no such segment.
	OpenSegment(ctx context.Context, id string, i int) (io.ReadCloser, error)
	// Verify checks the recording's seals (hash chain, signatures); nil means it verifies. A
	// recording that fails verification gives an error describing the problem; ErrNotFound if absent.
	Verify(ctx context.Context, id string) error
}

// Searcher is the index.
type Searcher interface {
	// Search runs q; errors wrapping index.ErrBadQuery are the caller's fault.
	Search(ctx context.Context, q index.Query) (index.Result, error)
}

// AuditEvent is something the UI did that belongs in the audit log.
type AuditEvent struct {
	Time time.Time
	Kind string // web.login, web.login.failed, web.login.limited, web.logout (Detail "user removed" when
	// the account went), web.login.role (Detail: the new role), web.replay, web.search,
	// web.live.shadow, web.live.pause, web.live.resume, web.live.terminate (Detail: the reason)
	User    string
	Remote  string
	Session string
	Detail  string
}
