package gateway

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/seed18fc72c3/vigil/access"
	"github.com/seed18fc72c3/vigil/audit"
	"github.com/seed18fc72c3/vigil/cmd/config"
	"github.com/seed18fc72c3/vigil/encode/eventlog"
	"github.com/seed18fc72c3/vigil/index"
	"github.com/seed18fc72c3/vigil/player"
	"github.com/seed18fc72c3/vigil/storage/seal"
)

// TOTPPath is where the web UI's TOTP secrets live in the data directory.
func TOTPPath(cfg config.Config) string { return cfg.Path("totp.json") }

// WebAuth answers the web UI's logins from the access store and the TOTP store.
type WebAuth struct {
	Store *access.Store
	TOTP  *access.TOTPStore
}

var _ player.Authenticator = (*WebAuth)(nil)

func (a *WebAuth) AuthenticatePassword(_ context.Context, name string, pw []byte) (player.User, error) {
	u, err := a.Store.AuthenticatePassword(name, pw)
	if errors.Is(err, access.ErrBadCredentials) {
		return player.User{}, fmt.Errorf("%w", player.ErrBadCredentials)
	}
	if err != nil {
		return player.User{}, err
	}
	return player.User{Name: u.Name, Role: player.Role(u.Role)}, nil
}

// User reads the user from the access store as it stands (the store rereads its file when another
// process changed it), so a role change or a deletion by `vigil user` reaches live web logins.
// The store has no lookup by name; its users are few and Users is a copy of a short list.
func (a *WebAuth) User(_ context.Context, name string) (player.User, error) {
	if a.Store == nil { // the evidence viewer's server has no users
		return player.User{}, fmt.Errorf("user %q: %w", name, player.ErrNotFound)
	}
	for _, u := range a.Store.Users() {
		if u.Name == name {
			return player.User{Name: u.Name, Role: player.Role(u.Role)}, nil
		}
	}
	return player.User{}, fmt.Errorf("user %q: %w", name, player.ErrNotFound)
}

func (a *WebAuth) TOTPSecret(_ context.Context, name string) (string, error) {
	if a.TOTP == nil {
		return "", nil
	}
	return a.TOTP.Secret(name)
}

// WebSessions shows the recording store to the web UI.
type WebSessions struct{ Recordings *Recordings }

var _ player.Sessions = (*WebSessions)(nil)

func info(rec Recording) player.SessionInfo {
	si := player.SessionInfo{ID: rec.ID, User: rec.Session.User, Target: rec.Session.Target,
		Account: rec.Session.Account, Protocol: rec.Session.Protocol, Remote: rec.Session.Remote,
		Start: rec.Session.Start, Live: rec.End == nil, Duration: rec.Duration(), Bytes: rec.Figure("output_bytes")}
	if rec.End != nil {
		si.Cause = rec.End.Cause
	}
	if rec.Err != nil {
		si.Broken = "manifest unreadable"
	}
	return si
}

func (s *WebSessions) List(ctx context.Context) ([]player.SessionInfo, error) {
	all, err := s.Recordings.List(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]player.SessionInfo, len(all))
	for i, rec := range all {
		out[i] = info(rec)
	}
	return out, nil
}

// find looks a session up by its exact id (a prefix is fine for the CLI, not for URLs).
func (s *WebSessions) find(ctx context.Context, id string) (Recording, error) {
	rec, err := s.Recordings.Find(ctx, id)
	if errors.Is(err, ErrNoRecording) || (err == nil && rec.ID != id) {
		return Recording{}, fmt.Errorf("session %q: %w", id, player.ErrNotFound)
	}
	return rec, err
}

// Get lists the segments from the final manifest. A live recording's checkpoint lists only its
// newest segment, so the start of each earlier one is read from its own header.
func (s *WebSessions) Get(ctx context.Context, id string) (player.SessionInfo, []player.Segment, error) {
	rec, err := s.find(ctx, id)
	if err != nil {
		return player.SessionInfo{}, nil, err
	}
	si := info(rec)
	if rec.Err != nil {
		return si, nil, nil
	}
	m, err := seal.ReadManifest(ctx, s.Recordings.Backend(), rec.Prefix)
	if err != nil {
		return si, nil, err
	}
	segs := make([]player.Segment, rec.Segments)
	known := make([]bool, rec.Segments)
	for _, e := range m.Segments {
		if e.Index >= 0 && e.Index < len(segs) {
			segs[e.Index] = player.Segment{Index: e.Index, Start: time.Duration(e.StartNS), End: time.Duration(e.EndNS), PlainBytes: e.PlainSize}
			known[e.Index] = true
		}
	}
	// The text player reads event logs only; a graphical recording's video is VideoSegments'.
	media, err := s.Recordings.segmentMedia(ctx, rec.Prefix, rec.Segments)
	if err != nil {
		return si, nil, err
	}
	for i := range segs {
		if known[i] || media[i] == seal.MediaMP4 {
			continue
		}
		start, err := s.segmentStart(ctx, rec, i)
		if err != nil {
			return si, nil, err
		}
		segs[i] = player.Segment{Index: i, Start: start}
	}
	for i := range segs {
		if !known[i] && i+1 < len(segs) {
			segs[i].End = segs[i+1].Start
		}
	}
	logs := segs[:0:0]
	for i, sg := range segs {
		if media[i] != seal.MediaMP4 {
			logs = append(logs, sg)
		}
	}
	segs = logs
	if si.Live && len(segs) > 0 {
		si.Duration = segs[len(segs)-1].End
	}
	return si, segs, nil
}

// VideoSegments lists a graphical recording's video segments (none for a text session).
func (s *WebSessions) VideoSegments(ctx context.Context, id string) ([]player.Segment, error) {
	rec, err := s.find(ctx, id)
	if err != nil {
		return nil, err
	}
	if rec.Err != nil {
		return nil, nil
	}
	entries, err := s.Recordings.Entries(ctx, rec)
	if err != nil {
		return nil, err
	}
	var out []player.Segment
	for _, e := range entries {
		if e.Media == seal.MediaMP4 {
			out = append(out, player.Segment{Index: e.Index, Start: time.Duration(e.StartNS), End: time.Duration(e.EndNS), PlainBytes: e.PlainSize})
		}
	}
	return out, nil
}

// OpenVideo returns one video segment's MP4, decrypted and checked against the manifest.
func (s *WebSessions) OpenVideo(ctx context.Context, id string, index int) (io.ReadCloser, error) {
	rec, err := s.find(ctx, id)
	if err != nil {
		return nil, err
	}
	if index < 0 || index >= rec.Segments {
		return nil, fmt.Errorf("segment %d of %s: %w", index, id, player.ErrNotFound)
	}
	media, err := s.Recordings.segmentMedia(ctx, rec.Prefix, rec.Segments)
	if err != nil {
		return nil, err
	}
	if media[index] != seal.MediaMP4 {
		return nil, fmt.Errorf("segment %d of %s is not video: %w", index, id, player.ErrNotFound)
	}
	return seal.OpenSegment(ctx, s.Recordings.Backend(), rec.Prefix, index, s.Recordings.Keys().Identities())
}

func (s *WebSessions) segmentStart(ctx context.Context, rec Recording, i int) (time.Duration, error) {
	rc, err := seal.OpenSegment(ctx, s.Recordings.Backend(), rec.Prefix, i, s.Recordings.Keys().Identities())
	if err != nil {
		return 0, err
	}
	defer rc.Close()
	r, err := eventlog.NewReader(rc)
	if err != nil {
		return 0, fmt.Errorf("segment %d of %s: %w", i, rec.ID, err)
	}
	return r.Header().Offset, nil
}

func (s *WebSessions) OpenSegment(ctx context.Context, id string, i int) (io.ReadCloser, error) {
	rec, err := s.find(ctx, id)
	if err != nil {
		return nil, err
	}
	if i < 0 || i >= rec.Segments {
		return nil, fmt.Errorf("segment %d of %s: %w", i, id, player.ErrNotFound)
	}
	return seal.OpenSegment(ctx, s.Recordings.Backend(), rec.Prefix, i, s.Recordings.Keys().Identities())
}

func (s *WebSessions) Verify(ctx context.Context, id string) error {
	rec, err := s.find(ctx, id)
	if err != nil {
		return err
	}
	rep, err := seal.Verify(ctx, s.Recordings.Backend(), rec.Prefix, s.Recordings.Keys().TrustedSigners())
	if err != nil {
		return err
	}
	return rep.Err()
}

// WebSearch is the index as the web UI searches it.
type WebSearch struct{ Index *index.Index }

func (s WebSearch) Search(ctx context.Context, q index.Query) (index.Result, error) {
	return s.Index.Search(ctx, q)
}

// NewWebServer wires the web UI to the store, the access store, the index and the audit log,
// and, when live is given (the SSH gateway; at most one is used), to its live sessions.
func NewWebServer(cfg config.Config, rec *Recordings, store *access.Store, ix *index.Index, auditLog *audit.Log, log *slog.Logger, secure bool, live ...LiveSessions) (*player.Server, error) {
	var pl player.LiveSessions
	var terms player.Terminals
	if len(live) > 0 && live[0] != nil {
		pl = &WebLive{Src: live[0], Log: log}
		// The gateway that shows its live sessions also runs the browser terminal's sessions.
		if ts, ok := live[0].(TerminalServer); ok {
			terms = &WebTerm{Src: ts, Log: log}
		}
	}
	return player.NewServer(player.Config{
		Live:             pl,
		Terminals:        terms,
		Desktops:         webDesktops(live), // desktop_web.go: nil unless the gateway runs desktops
		Auth:             &WebAuth{Store: store, TOTP: access.OpenTOTP(TOTPPath(cfg))},
		Sessions:         &WebSessions{Recordings: rec},
		DesktopClipboard: cfg.VNC.Clipboard,
		Video:            &WebSessions{Recordings: rec},
		Search:           WebSearch{Index: ix},
		Exporter:         &WebExporter{Recordings: rec, Store: store, Audit: auditLog, AuditPath: AuditPath(cfg)},
		// Bundles wait here for their download; they are sealed to the recipient, never in clear.
		ExportDir: cfg.Path("exports"),
		Logger:    log,
		Secure:    secure,
		Audit: func(e player.AuditEvent) {
			ev := audit.Event{Time: e.Time, Kind: e.Kind, User: e.User, Remote: e.Remote, Session: e.Session, Detail: e.Detail}
			if err := auditLog.Append(ev); err != nil {
				log.Error("audit log append failed", "err", err, "kind", e.Kind)
			}
		},
	})
}
