package player

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
)

// Errors an Exporter returns (wrapped).
var (
	// ErrExportForbidden: the user lacks the export permission (access.User.Export).
	ErrExportForbidden = errors.New("player: you do not have the export permission")
	// ErrBadExport: the request names no session, or its recipient is malformed.
	ErrBadExport = errors.New("player: bad export request")
)

// ExportRequest is what the browser asks for: sessions, and exactly one protection. Exports in
// clear are not offered on the web: they stay a deliberate act on the node (`vigil export --clear`).
type ExportRequest struct {
	Sessions   []string `json:"sessions"`
	Recipient  string   `json:"recipient,omitempty"`  // an age recipient (age1...)
	Passphrase string   `json:"passphrase,omitempty"` // never logged, never stored
}

// Exporter makes evidence bundles (cmd/gateway wires Recordings.ExportEvidence).
type Exporter interface {
	// MayExport returns nil if user may export now, an error wrapping ErrExportForbidden if not.
	// The server asks it again before showing or handing out a bundle, so that a permission
	// revoked after an export started also stops its download.
	MayExport(ctx context.Context, user User) error
	// Export checks that user may export, records the export in the audit log (no audit entry, no
	// export), then writes the bundle to w, calling progress after each segment. Errors wrap
	// ErrExportForbidden, ErrBadExport or ErrNotFound when they are the caller's.
	Export(ctx context.Context, user User, remote string, req ExportRequest, w io.Writer, progress func(done, total int)) error
}

// Export jobs: a bundle of a long session takes a while, so the browser starts a job, polls its
// progress and downloads the file when it is done. Bundles wait in Config.ExportDir (0600) for
// exportTTL after they are finished, then a timer deletes them (whether or not anyone exports
// again); a failed export's file is deleted at once, and files left by an earlier run of the node
// (jobs live in memory) are deleted at start once they are older than exportTTL.
const (
	exportTTL        = time.Hour
	exportMaxRunning = 2
	exportTimeout    = 2 * time.Hour
)

type exportJob struct {
	ID       string    `json:"id"`
	Owner    string    `json:"-"`
	State    string    `json:"state"` // running, done, failed
	Done     int       `json:"done"`
	Total    int       `json:"total"`
	Error    string    `json:"error,omitempty"`
	Bytes    int64     `json:"bytes,omitempty"`
	Created  time.Time `json:"created"`
	Ended    time.Time `json:"-"`
	path     string
	sessions []string
}

type exportJobs struct {
	ttl  time.Duration // how long a finished job and its bundle are kept; tests shorten it
	mu   sync.Mutex
	jobs map[string]*exportJob
}

func (s *Server) exportRoutes() {
	s.exports = &exportJobs{ttl: exportTTL, jobs: map[string]*exportJob{}}
	if s.cfg.ExportDir != "" {
		removeStaleBundles(s.cfg.ExportDir, time.Now().Add(-exportTTL), s.log)
	}
	s.mux.Handle("POST /api/exports", s.authed(s.handleExportStart, auditorRole))
	s.mux.Handle("GET /api/exports/{id}", s.authed(s.handleExportStatus, auditorRole))
	s.mux.Handle("GET /api/exports/{id}/download", s.authed(s.handleExportDownload, auditorRole))
}

func (s *Server) handleExportStart(w http.ResponseWriter, r *http.Request, l *login) {
	if s.cfg.Exporter == nil || s.cfg.ExportDir == "" {
		writeError(w, http.StatusNotImplemented, "evidence export is not configured on this node")
		return
	}
	var req ExportRequest
	if err := json.NewDecoder(io.LimitReader(r.Body, 64<<10)).Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, "bad request body")
		return
	}
	// The same session twice would only make the bundle bigger.
	slices.Sort(req.Sessions)
	req.Sessions = slices.Compact(req.Sessions)
	if len(req.Sessions) == 0 || len(req.Sessions) > 100 {
		writeError(w, http.StatusBadRequest, "name between 1 and 100 sessions")
		return
	}
	if (req.Recipient == "") == (req.Passphrase == "") {
		writeError(w, http.StatusBadRequest, "give exactly one of an age recipient or a passphrase")
		return
	}
	if req.Passphrase != "" && len(req.Passphrase) < 12 {
		writeError(w, http.StatusBadRequest, "a passphrase must be at least 12 characters")
		return
	}
	s.exports.sweep(s.cfg.Now())
	job, err := s.exports.start(l.user.Name, req.Sessions, s.cfg.Now())
	if err != nil {
		writeError(w, http.StatusTooManyRequests, err.Error())
		return
	}
	if err := os.MkdirAll(s.cfg.ExportDir, 0o700); err != nil {
		s.exports.fail(job, "cannot write the bundle on the node", s.cfg.Now())
		s.log.Error("export dir", "err", err)
		writeError(w, http.StatusInternalServerError, "cannot write the bundle on the node")
		return
	}
	job.path = filepath.Join(s.cfg.ExportDir, "export-"+job.ID+".zip")
	remote := remoteIP(r)
	// Permission and audit are checked synchronously, so the browser gets 403 at once; the
	// bundle itself is written in the background.
	f, err := os.OpenFile(job.path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		s.exports.fail(job, "cannot write the bundle on the node", s.cfg.Now())
		s.log.Error("export file", "err", err)
		writeError(w, http.StatusInternalServerError, "cannot write the bundle on the node")
		return
	}
	started := make(chan error, 1)
	go s.runExport(job, l.user, remote, req, f, started)
	if err := <-started; err != nil {
		// The browser has the answer; a refused job is not kept (nor can refusals pile up).
		s.exports.remove(job.ID)
		writeError(w, exportStatus(err), exportMessage(err))
		return
	}
	writeJSON(w, http.StatusAccepted, s.exports.snapshot(job))
}

// runExport writes the bundle. started receives the first error if it happens before the first
// segment (permission, audit, unknown session), else nil as soon as progress starts or it ends.
func (s *Server) runExport(job *exportJob, u User, remote string, req ExportRequest, f *os.File, started chan<- error) {
	ctx, cancel := context.WithTimeout(context.Background(), exportTimeout)
	defer cancel()
	var once sync.Once
	signal := func(err error) { once.Do(func() { started <- err }) }
	err := s.cfg.Exporter.Export(ctx, u, remote, req, f, func(done, total int) {
		s.exports.progress(job, done, total)
		signal(nil)
	})
	cerr := f.Close()
	if err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(job.path)
		s.exports.fail(job, exportMessage(err), s.cfg.Now())
		s.log.Warn("export failed", "user", u.Name, "job", job.ID, "err", err)
		signal(err)
		return
	}
	var size int64
	if st, err := os.Stat(job.path); err == nil {
		size = st.Size()
	}
	s.exports.finish(job, size, s.cfg.Now())
	signal(nil)
}

func exportStatus(err error) int {
	switch {
	case errors.Is(err, ErrExportForbidden):
		return http.StatusForbidden
	case errors.Is(err, ErrBadExport):
		return http.StatusBadRequest
	case errors.Is(err, ErrNotFound):
		return http.StatusNotFound
	}
	return http.StatusInternalServerError
}

// exportMessage is what the browser is told: the caller's errors in full, others in general terms
// (the log has the detail).
func exportMessage(err error) string {
	switch {
	case errors.Is(err, ErrExportForbidden):
		return ErrExportForbidden.Error()[len("player: "):]
	case errors.Is(err, ErrBadExport), errors.Is(err, ErrNotFound):
		return err.Error()
	}
	return "the export failed; the node's log has the cause"
}

// mayExport asks the Exporter again whether the caller may export; false once it answered.
func (s *Server) mayExport(w http.ResponseWriter, r *http.Request, l *login, what string) bool {
	if s.cfg.Exporter == nil {
		writeError(w, http.StatusNotFound, "no such export")
		return false
	}
	err := s.cfg.Exporter.MayExport(r.Context(), l.user)
	if err == nil {
		return true
	}
	if errors.Is(err, ErrExportForbidden) {
		s.audit(r, "web.export.refused", l.user.Name, "", what+" "+r.PathValue("id"))
	} else {
		s.log.Error("export permission", "user", l.user.Name, "err", err)
	}
	writeError(w, exportStatus(err), exportMessage(err))
	return false
}

func (s *Server) handleExportStatus(w http.ResponseWriter, r *http.Request, l *login) {
	if !s.mayExport(w, r, l, "status") {
		return
	}
	job := s.exports.get(r.PathValue("id"), l.user.Name)
	if job == nil {
		writeError(w, http.StatusNotFound, "no such export")
		return
	}
	writeJSON(w, http.StatusOK, s.exports.snapshot(job))
}

func (s *Server) handleExportDownload(w http.ResponseWriter, r *http.Request, l *login) {
	if !s.mayExport(w, r, l, "download") {
		return
	}
	job := s.exports.get(r.PathValue("id"), l.user.Name)
	if job == nil {
		writeError(w, http.StatusNotFound, "no such export")
		return
	}
	snap := s.exports.snapshot(job)
	if snap.State != "done" {
		writeError(w, http.StatusConflict, "the export is "+snap.State)
		return
	}
	f, err := os.Open(job.path)
	if err != nil {
		writeError(w, http.StatusGone, "the bundle has expired")
		return
	}
	defer f.Close()
	name := fmt.Sprintf("vigil-evidence-%s.zip", snap.Created.UTC().Format("20060102-150405"))
	w.Header().Set("Content-Type", "application/zip")
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	s.audit(r, "web.export.download", l.user.Name, "", job.ID+" sessions "+strings.Join(snap.sessions, " "))
	http.ServeContent(w, r, name, snap.Created, f)
}

func (j *exportJobs) start(owner string, sessions []string, now time.Time) (*exportJob, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	running := 0
	for _, job := range j.jobs {
		if job.State == "running" {
			running++
			if job.Owner == owner {
				return nil, errors.New("you already have an export running; wait for it to finish")
			}
		}
	}
	if running >= exportMaxRunning {
		return nil, errors.New("too many exports are running; try again in a minute")
	}
	var b [12]byte
	rand.Read(b[:])
	job := &exportJob{ID: hex.EncodeToString(b[:]), Owner: owner, State: "running", Created: now, sessions: sessions}
	j.jobs[job.ID] = job
	return job, nil
}

// get returns the job if owner started it (an export is its exporter's alone).
func (j *exportJobs) get(id, owner string) *exportJob {
	j.mu.Lock()
	defer j.mu.Unlock()
	if job := j.jobs[id]; job != nil && job.Owner == owner {
		return job
	}
	return nil
}

func (j *exportJobs) snapshot(job *exportJob) exportJob {
	j.mu.Lock()
	defer j.mu.Unlock()
	return *job
}

func (j *exportJobs) progress(job *exportJob, done, total int) {
	j.mu.Lock()
	job.Done, job.Total = done, total
	j.mu.Unlock()
}

func (j *exportJobs) fail(job *exportJob, msg string, now time.Time) {
	j.mu.Lock()
	job.State, job.Error, job.Ended = "failed", msg, now
	j.mu.Unlock()
	j.expireLater(job.ID)
}

func (j *exportJobs) finish(job *exportJob, size int64, now time.Time) {
	j.mu.Lock()
	job.State, job.Bytes, job.Ended = "done", size, now
	if job.Total == 0 {
		job.Total = job.Done
	}
	j.mu.Unlock()
	j.expireLater(job.ID)
}

// expireLater deletes the job and its bundle ttl from now. A timer, not a goroutine: nothing
// waits on it, and nothing depends on another export being started.
func (j *exportJobs) expireLater(id string) {
	time.AfterFunc(j.ttl, func() { j.remove(id) })
}

// remove forgets a job and deletes its bundle, if any. A running job is left alone: its export
// still writes the file and will finish or fail.
func (j *exportJobs) remove(id string) {
	j.mu.Lock()
	defer j.mu.Unlock()
	job := j.jobs[id]
	if job == nil || job.State == "running" {
		return
	}
	if job.path != "" {
		os.Remove(job.path)
	}
	delete(j.jobs, id)
}

// sweep deletes jobs that ended more than ttl ago and their files; the timers do the same, this
// catches what a stopped clock (tests) or a late timer left.
func (j *exportJobs) sweep(now time.Time) {
	j.mu.Lock()
	defer j.mu.Unlock()
	for id, job := range j.jobs {
		if job.State != "running" && now.Sub(job.Ended) > j.ttl {
			if job.path != "" {
				os.Remove(job.path)
			}
			delete(j.jobs, id)
		}
	}
}

// removeStaleBundles deletes bundles older than before from dir: an earlier run of the node wrote
// them, and their jobs, kept in memory, are gone with it, so nobody can download them.
func removeStaleBundles(dir string, before time.Time, log *slog.Logger) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return // no directory yet: nothing to clean
	}
	for _, e := range ents {
		name := e.Name()
		if !e.Type().IsRegular() || !strings.HasPrefix(name, "export-") || !strings.HasSuffix(name, ".zip") {
			continue
		}
		if fi, err := e.Info(); err == nil && fi.ModTime().Before(before) {
			if err := os.Remove(filepath.Join(dir, name)); err != nil {
				log.Warn("export: remove stale bundle", "file", name, "err", err)
			}
		}
	}
}
