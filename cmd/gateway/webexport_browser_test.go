package gateway_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"filippo.io/age"
	"github.com/chromedp/chromedp"

	"github.com/seed18fc72c3/vigil/access"
	"github.com/seed18fc72c3/vigil/audit"
	"github.com/seed18fc72c3/vigil/cmd/config"
	"github.com/seed18fc72c3/vigil/cmd/gateway"
	"github.com/seed18fc72c3/vigil/cmd/nodekeys"
	"github.com/seed18fc72c3/vigil/index"
	"github.com/seed18fc72c3/vigil/storage/file"
)

type exportEnv struct {
	ts        *httptest.Server
	id        string
	auditPath string
	dir       string
}

// newExportEnv serves the real web UI over one sealed recording, with alice (auditor, may
// export), bob (auditor, may not) and carol (user, marked as exporter but not an auditor).
func newExportEnv(t *testing.T) *exportEnv {
	dir := t.TempDir()
	cfg := config.Default()
	cfg.DataDir = dir
	backend, err := file.New(filepath.Join(dir, "store"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { backend.Close() })
	keys, err := nodekeys.Ensure(filepath.Join(dir, "keys"))
	if err != nil {
		t.Fatal(err)
	}
	store := gateway.NewRecordings(backend, keys, nil)
	meta := writeSyntheticRecording(t, store, time.Now().Add(-time.Hour).UTC().Truncate(time.Second))
	ix, err := index.Open(filepath.Join(dir, "index"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ix.Close() })
	var users []access.User
	for _, u := range []struct {
		name   string
		role   access.Role
		export bool
	}{{"alice", access.RoleAuditor, true}, {"bob", access.RoleAuditor, false}, {"carol", access.RoleUser, true}} {
		hash, err := access.HashPassword([]byte(u.name + "-pw"))
		if err != nil {
			t.Fatal(err)
		}
		users = append(users, access.User{Name: u.name, PasswordHash: hash, Role: u.role, Export: u.export})
	}
	acc, err := access.OpenStore(filepath.Join(dir, "access.json"), access.Config{Users: users})
	if err != nil {
		t.Fatal(err)
	}
	auditPath := gateway.AuditPath(cfg)
	auditLog, err := audit.Open(auditPath)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { auditLog.Close() })
	h, err := gateway.NewWebServer(cfg, store, acc, ix, auditLog, slog.New(slog.DiscardHandler), false)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(h)
	t.Cleanup(ts.Close)
	return &exportEnv{ts: ts, id: meta.ID, auditPath: auditPath, dir: dir}
}

// apiLogin logs in over the JSON API and returns a client with the cookie and the CSRF token.
func (e *exportEnv) apiLogin(t *testing.T, user string) func(method, path string, body any) (int, []byte) {
	var cookie *http.Cookie
	csrf := ""
	do := func(method, path string, body any) (int, []byte) {
		var rd io.Reader
		if body != nil {
			b, _ := json.Marshal(body)
			rd = bytes.NewReader(b)
		}
		req, _ := http.NewRequest(method, e.ts.URL+path, rd)
		req.Header.Set("Content-Type", "application/json")
		if cookie != nil {
			req.AddCookie(cookie)
		}
		if csrf != "" {
			req.Header.Set("X-CSRF-Token", csrf)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		for _, c := range res.Cookies() {
			cookie = c
		}
		return res.StatusCode, b
	}
	code, b := do("POST", "/api/login", map[string]string{"user": user, "password": user + "-pw"})
	if code != http.StatusOK {
		t.Fatalf("login %s: %d %s", user, code, b)
	}
	var m map[string]string
	json.Unmarshal(b, &m)
	csrf = m["csrf"]
	return do
}

// TestWebExportPermission: exporting is a permission of its own, checked on the server; refusals
// and exports are audited; a passphrase never reaches the audit log.
func TestWebExportPermission(t *testing.T) {
	e := newExportEnv(t)
	const pass = "correct horse battery staple"
	for _, tc := range []struct {
		user string
		body map[string]any
		want int
	}{
		{"bob", map[string]any{"sessions": []string{e.id}, "passphrase": pass}, http.StatusForbidden},
		{"carol", map[string]any{"sessions": []string{e.id}, "passphrase": pass}, http.StatusForbidden}, // a user role is refused before the permission
		{"alice", map[string]any{"sessions": []string{e.id}}, http.StatusBadRequest},
		{"alice", map[string]any{"sessions": []string{e.id}, "passphrase": "short"}, http.StatusBadRequest},
		{"alice", map[string]any{"sessions": []string{e.id}, "recipient": "age1notakey"}, http.StatusBadRequest},
		{"alice", map[string]any{"sessions": []string{"no-such-session"}, "passphrase": pass}, http.StatusNotFound},
	} {
		do := e.apiLogin(t, tc.user)
		if code, b := do("POST", "/api/exports", tc.body); code != tc.want {
			t.Errorf("%s %v: %d %s, want %d", tc.user, tc.body, code, b, tc.want)
		}
	}
	// alice exports with a passphrase; bob cannot see her job.
	do := e.apiLogin(t, "alice")
	code, b := do("POST", "/api/exports", map[string]any{"sessions": []string{e.id}, "passphrase": pass})
	if code != http.StatusAccepted {
		t.Fatalf("export: %d %s", code, b)
	}
	var job struct {
		ID, State string
		Done      int
		Total     int
	}
	json.Unmarshal(b, &job)
	// Only a guard against a hang: scrypt per segment is slow under -race on a busy machine.
	deadline := time.Now().Add(90 * time.Second)
	for job.State == "running" && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
		_, b = do("GET", "/api/exports/"+job.ID, nil)
		json.Unmarshal(b, &job)
	}
	if job.State != "done" || job.Done != 3 || job.Total != 3 {
		t.Fatalf("job %+v", job)
	}
	// bob lacks the permission, which is asked again before any job is looked up (the player's
	// tests show that another exporter gets 404 for a job not theirs).
	if code, _ := e.apiLogin(t, "bob")("GET", "/api/exports/"+job.ID+"/download", nil); code != http.StatusForbidden {
		t.Errorf("bob downloads alice's export: %d", code)
	}
	code, zipData := do("GET", "/api/exports/"+job.ID+"/download", nil)
	if code != http.StatusOK {
		t.Fatalf("download: %d", code)
	}
	id, err := age.NewScryptIdentity(pass)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := verifyBytes(zipData, gateway.EvidenceVerifyOptions{Identities: []age.Identity{id}})
	if err != nil || !rep.OK() {
		t.Fatalf("verify downloaded bundle: %v %+v", err, rep)
	}
	// The bundle on the node is sealed (never plaintext) and private.
	matches, _ := filepath.Glob(filepath.Join(e.dir, "exports", "export-*.zip"))
	if len(matches) != 1 {
		t.Fatalf("export files: %v", matches)
	}
	if st, err := os.Stat(matches[0]); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("export file mode: %v %v", st.Mode(), err)
	}
	auditText, err := os.ReadFile(e.auditPath)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"export-refused"`, `"user":"bob"`, `"export"`, `"web.export.download"`} {
		if !strings.Contains(string(auditText), want) {
			t.Errorf("audit log lacks %s", want)
		}
	}
	if strings.Contains(string(auditText), pass) {
		t.Error("the passphrase is in the audit log")
	}
}

// TestWebExportInChromium: an auditor picks a session, exports it to an age recipient, watches
// the progress bar finish and downloads a bundle that verifies with the recipient's identity.
func TestWebExportInChromium(t *testing.T) {
	chromium := needChromium(t)
	e := newExportEnv(t)
	recipient := newRecipient(t)
	artifacts := artifactsDir(t)
	ctx := startBrowser(t, chromium, chromedp.WindowSize(1200, 800))
	bctx := ctx
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	type C = chromedp.CSS
	var b64 string
	err := chromedp.Do(ctx,
		chromedp.Navigate(e.ts.URL+"/"),
		chromedp.WaitVisible(C("#login")),
		chromedp.SendKeys(C("#user"), "alice"),
		chromedp.SendKeys(C("#password"), "alice-pw"),
		chromedp.Click(C(`#login button[type="submit"]`)),
		chromedp.WaitVisible(C(`input.pick[data-id="`+e.id+`"]`)),
		chromedp.Click(C(`input.pick[data-id="`+e.id+`"]`)),
		chromedp.Click(C(`#export`)),
		chromedp.WaitVisible(C(`#export-panel`)),
		chromedp.SendKeys(C("#exp-recipient"), recipient.Recipient().String()),
		chromedp.Click(C("#exp-start")),
		chromedp.WaitVisible(C("#exp-download")),
		screenshot(artifacts, "export-done"),
		chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			v, err := chromedp.Evaluate[string](`(async () => {
				const a = document.querySelector('#exp-download');
				const progress = document.querySelector('#exp-progress');
				if (progress.value !== progress.max) throw new Error('progress ' + progress.value + '/' + progress.max);
				const buf = new Uint8Array(await (await fetch(a.href)).arrayBuffer());
				let s = ''; for (const c of buf) s += String.fromCharCode(c);
				return btoa(s);
			})()`, chromedp.EvalAwaitPromise)(ctx, tg)
			b64 = v
			return err
		}),
	)
	if err != nil {
		fctx, fcancel := context.WithTimeout(bctx, 10*time.Second)
		_ = chromedp.Do(fctx, screenshot(artifacts, "export-failed"))
		fcancel()
		t.Fatalf("browser: %v (screenshots in %s)", err, artifacts)
	}
	zipData, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := verifyBytes(zipData, gateway.EvidenceVerifyOptions{Identities: []age.Identity{recipient}})
	if err != nil || !rep.OK() {
		t.Fatalf("verify bundle downloaded in the browser: %v %+v", err, rep)
	}
}
