package player

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"
)

// fakeExporter lets the users in may export; it writes the sessions it was asked for.
type fakeExporter struct {
	mu   sync.Mutex
	may  map[string]bool
	asks [][]string
}

func (e *fakeExporter) MayExport(_ context.Context, u User) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.may[u.Name] {
		return fmt.Errorf("fake: %s: %w", u.Name, ErrExportForbidden)
	}
	return nil
}

func (e *fakeExporter) Export(ctx context.Context, u User, _ string, req ExportRequest, w io.Writer, progress func(done, total int)) error {
	if err := e.MayExport(ctx, u); err != nil {
		return err
	}
	e.mu.Lock()
	e.asks = append(e.asks, req.Sessions)
	e.mu.Unlock()
	progress(0, 1)
	_, err := io.WriteString(w, "bundle of "+strings.Join(req.Sessions, ","))
	progress(1, 1)
	return err
}

func (e *fakeExporter) set(user string, may bool) {
	e.mu.Lock()
	e.may[user] = may
	e.mu.Unlock()
}

// newExportFixture: carol (auditor) and dave (admin) may export; erin (auditor) may not.
func newExportFixture(t *testing.T) (*fixture, *fakeExporter, string) {
	f := newFixture(t)
	ex := &fakeExporter{may: map[string]bool{"carol": true, "dave": true}}
	dir := filepath.Join(t.TempDir(), "exports")
	f.srv.cfg.Exporter, f.srv.cfg.ExportDir = ex, dir
	return f, ex, dir
}

const exportBody = `{"sessions":["s-alice","s-bob","s-alice"],"passphrase":"correct horse battery"}`

// startExport starts an export as c and waits for it to finish; it returns the job's id.
func startExport(t *testing.T, f *fixture, c *client) string {
	t.Helper()
	r := f.do(t, c, "POST", "/api/exports", exportBody, nil)
	if r.code != http.StatusAccepted {
		t.Fatalf("start export: %d %s", r.code, r.body)
	}
	var job exportJob
	if err := json.Unmarshal([]byte(r.body), &job); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the export", func() bool {
		r := f.do(t, c, "GET", "/api/exports/"+job.ID, "", nil)
		return r.code == http.StatusOK && strings.Contains(r.body, `"state":"done"`)
	})
	return job.ID
}

// TestExportBundleExpires: a finished bundle is deleted when it expires, though nobody starts
// another export (before, only a new export swept old ones).
func TestExportBundleExpires(t *testing.T) {
	f, _, dir := newExportFixture(t)
	f.srv.exports.ttl = 50 * time.Millisecond
	c := f.mustLogin(t, "carol")
	id := startExport(t, f, c)
	path := filepath.Join(dir, "export-"+id+".zip")
	waitFor(t, "the expired bundle to go", func() bool {
		_, err := os.Stat(path)
		return os.IsNotExist(err)
	})
	if r := f.do(t, c, "GET", "/api/exports/"+id, "", nil); r.code != http.StatusNotFound {
		t.Errorf("expired job: %d %s", r.code, r.body)
	}
}

// TestExportPermissionRechecked: a permission revoked after the export also stops the status and
// the download, and the refusal is audited.
func TestExportPermissionRechecked(t *testing.T) {
	f, ex, _ := newExportFixture(t)
	c := f.mustLogin(t, "carol")
	id := startExport(t, f, c)
	if r := f.do(t, c, "GET", "/api/exports/"+id+"/download", "", nil); r.code != http.StatusOK || !strings.HasPrefix(r.body, "bundle of ") {
		t.Fatalf("download: %d %q", r.code, r.body)
	}
	ex.set("carol", false)
	for _, p := range []string{"/api/exports/" + id, "/api/exports/" + id + "/download"} {
		if r := f.do(t, c, "GET", p, "", nil); r.code != http.StatusForbidden {
			t.Errorf("GET %s after the permission was revoked: %d %s", p, r.code, r.body)
		}
	}
	if !f.audited(t, "web.export.refused", "carol", id) {
		t.Error("the refused download was not audited")
	}
}

func (f *fixture) audited(t *testing.T, kind, user, detail string) bool {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, a := range f.audits {
		if a.Kind == kind && a.User == user && strings.Contains(a.Detail, detail) {
			return true
		}
	}
	return false
}

// TestExportJobsAreTheirOwners: another exporter can neither see nor download a job.
func TestExportJobsAreTheirOwners(t *testing.T) {
	f, _, _ := newExportFixture(t)
	id := startExport(t, f, f.mustLogin(t, "carol"))
	dave := f.mustLogin(t, "dave")
	for _, p := range []string{"/api/exports/" + id, "/api/exports/" + id + "/download"} {
		if r := f.do(t, dave, "GET", p, "", nil); r.code != http.StatusNotFound {
			t.Errorf("dave GET %s: %d %s", p, r.code, r.body)
		}
	}
	if r := f.do(t, f.mustLogin(t, "alice"), "GET", "/api/exports/"+id, "", nil); r.code != http.StatusForbidden {
		t.Errorf("a user role: %d", r.code)
	}
}

// TestExportDownloadAudited: the download's audit event names the job and its sessions, and a
// session named twice is exported once.
func TestExportDownloadAudited(t *testing.T) {
	f, ex, _ := newExportFixture(t)
	c := f.mustLogin(t, "carol")
	id := startExport(t, f, c)
	if r := f.do(t, c, "GET", "/api/exports/"+id+"/download", "", nil); r.code != http.StatusOK {
		t.Fatalf("download: %d", r.code)
	}
	if !f.audited(t, "web.export.download", "carol", id+" sessions s-alice s-bob") {
		t.Errorf("download audit: %+v", f.audits)
	}
	if fmt.Sprint(ex.asks) != "[[s-alice s-bob]]" {
		t.Errorf("exported %v", ex.asks)
	}
}

// TestExportRefusedNotKept: refused exports leave no job behind, however many are tried.
func TestExportRefusedNotKept(t *testing.T) {
	f, _, dir := newExportFixture(t)
	c := f.mustLogin(t, "dave")
	f.srv.cfg.Exporter.(*fakeExporter).set("dave", false)
	for range 5 {
		if r := f.do(t, c, "POST", "/api/exports", exportBody, nil); r.code != http.StatusForbidden {
			t.Fatalf("refused export: %d %s", r.code, r.body)
		}
	}
	f.srv.exports.mu.Lock()
	n := len(f.srv.exports.jobs)
	f.srv.exports.mu.Unlock()
	if n != 0 {
		t.Errorf("%d refused jobs kept", n)
	}
	if files, _ := filepath.Glob(filepath.Join(dir, "*")); len(files) != 0 {
		t.Errorf("files left: %v", files)
	}
}

// TestExportStaleBundlesRemoved: bundles an earlier run left behind go at start once expired;
// newer ones and other files stay.
func TestExportStaleBundlesRemoved(t *testing.T) {
	dir := t.TempDir()
	old := time.Now().Add(-exportTTL - time.Minute)
	for name, mt := range map[string]time.Time{"export-old.zip": old, "export-new.zip": time.Now(), "notes.txt": old} {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, mt, mt); err != nil {
			t.Fatal(err)
		}
	}
	_, err := NewServer(Config{Auth: &fakeAuth{}, Sessions: newMemSessions(), Search: &fakeSearch{},
		Exporter: &fakeExporter{}, ExportDir: dir, Assets: fstest.MapFS{}})
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]bool{"export-old.zip": false, "export-new.zip": true, "notes.txt": true} {
		if _, err := os.Stat(filepath.Join(dir, name)); (err == nil) != want {
			t.Errorf("%s: exists %v, want %v", name, err == nil, want)
		}
	}
}
