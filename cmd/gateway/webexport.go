package gateway

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"filippo.io/age"

	"github.com/seed18fc72c3/vigil/access"
	"github.com/seed18fc72c3/vigil/audit"
	"github.com/seed18fc72c3/vigil/player"
)

// WebExporter makes evidence bundles for the web UI. Exporting is a permission of its own
// (access.User.Export), read from the store at each request so that revoking it takes effect at
// once, and every export is in the audit log before a byte of it is written.
type WebExporter struct {
	Recordings *Recordings
	Store      *access.Store
	Audit      *audit.Log
	AuditPath  string // whose lines about each session go into the bundle
}

var _ player.Exporter = (*WebExporter)(nil)

// MayExport reads the permission from the store, as Export does; the web UI asks before it shows
// or hands out a bundle.
func (e *WebExporter) MayExport(_ context.Context, u player.User) error {
	if !e.permitted(u.Name) {
		return fmt.Errorf("user %s: %w", u.Name, player.ErrExportForbidden)
	}
	return nil
}

func (e *WebExporter) Export(ctx context.Context, u player.User, remote string, req player.ExportRequest, w io.Writer, progress func(done, total int)) error {
	if !e.permitted(u.Name) {
		e.audit(audit.Event{Kind: "export-refused", User: u.Name, Remote: remote, Cause: "no export permission"})
		return fmt.Errorf("user %s: %w", u.Name, player.ErrExportForbidden)
	}
	opt := EvidenceOptions{Exporter: u.Name, AuditPath: e.AuditPath, Progress: progress}
	mode := ProtectPassphrase
	switch {
	case req.Recipient != "" && req.Passphrase == "":
		rs, err := age.ParseRecipients(strings.NewReader(req.Recipient))
		if err != nil {
			return fmt.Errorf("%w: recipient: %v", player.ErrBadExport, err)
		}
		opt.Recipients, opt.RecipientNames, mode = rs, []string{strings.TrimSpace(req.Recipient)}, ProtectRecipient
	case req.Passphrase != "" && req.Recipient == "":
		opt.Passphrase = req.Passphrase
	default:
		return fmt.Errorf("%w: give exactly one of a recipient or a passphrase", player.ErrBadExport)
	}
	ids := make([]string, 0, len(req.Sessions))
	for _, arg := range req.Sessions {
		ref, err := e.Recordings.Find(ctx, arg)
		if err != nil {
			return fmt.Errorf("session %q: %w", arg, player.ErrNotFound)
		}
		if !slices.Contains(ids, ref.ID) { // a prefix and the full id name one session
			ids = append(ids, ref.ID)
		}
	}
	// The audit lines come first, so they are inside the bundle; an export that cannot be audited
	// does not happen.
	for _, id := range ids {
		ev := audit.Event{Kind: "export", User: u.Name, Remote: remote, Session: id,
			Detail: "evidence bundle from the web UI, segments " + mode}
		if err := e.Audit.Append(ev); err != nil {
			return fmt.Errorf("export refused: audit log: %w", err)
		}
	}
	_, err := e.Recordings.ExportEvidence(ctx, w, ids, opt)
	if err != nil {
		for _, id := range ids {
			e.audit(audit.Event{Kind: "export-failed", User: u.Name, Remote: remote, Session: id, Cause: err.Error()})
		}
		if errors.Is(err, ErrNoRecording) {
			return fmt.Errorf("%w: %v", player.ErrNotFound, err)
		}
		return err
	}
	return nil
}

func (e *WebExporter) permitted(name string) bool {
	for _, u := range e.Store.Users() {
		if u.Name == name {
			return u.Export && (u.Role == access.RoleAuditor || u.Role == access.RoleAdmin)
		}
	}
	return false
}

func (e *WebExporter) audit(ev audit.Event) { _ = e.Audit.Append(ev) }
