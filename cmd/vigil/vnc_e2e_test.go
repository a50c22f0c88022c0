package main

import (
	"bytes"
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/seed18fc72c3/vigil/fixtures/testenv"
	"github.com/seed18fc72c3/vigil/proxy/vnc"
)

// TestVNCEndToEnd: `vigil serve` with vnc.listen set; `vigil vnc-otp` issues a one-time password
// through the control socket; a VNC client logs in with it and sees the real x11vnc target
// (whose vaulted password it never learns); `vigil live` lists the session and `vigil terminate`
// ends it; the audit log records the password's issue and use, never the password.
func TestVNCEndToEnd(t *testing.T) {
	v := testenv.StartVNC(t)
	v.Run(t, "xsetroot", "-solid", "#406080")
	data := t.TempDir()
	host, port, _ := net.SplitHostPort(v.Addr)
	mustVigil(t, data, "", "user", "add", "alice", "--role", "user")
	mustVigil(t, data, "", "user", "add", "bob", "--role", "user")
	mustVigil(t, data, "", "target", "add", "desk1", "--host", host, "--port", port, "--protocol", "vnc")
	mustVigil(t, data, v.Password+"\n", "credential", "set", "desk1", "vnc")
	mustVigil(t, data, "", "grant", "add", "alice", "desk1", "vnc")
	vncAddr := freeAddr(t)
	t.Setenv("VIGIL_VNC_LISTEN", vncAddr)
	startServe(t, data, freeAddr(t))

	if out, err := vigil(t, data, "", "vnc-otp", "--user", "bob", "--target", "desk1"); err == nil {
		t.Fatalf("an otp for a user without a grant:\n%s", out)
	}
	out := mustVigil(t, data, "", "vnc-otp", "--user", "alice", "--target", "desk1")
	m := regexp.MustCompile(`password: (\S{8})\n`).FindStringSubmatch(out)
	if m == nil || !strings.Contains(out, "connect:  "+vncAddr) {
		t.Fatalf("vnc-otp said:\n%s", out)
	}
	otp := m[1]

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := vnc.Dial(ctx, vncAddr, []byte(otp), vnc.Options{})
	if err != nil {
		t.Fatalf("viewer login: %v", err)
	}
	defer c.Close()
	for want := v.Screenshot(t); !bytes.Equal(c.Framebuffer().Pix, want.Pix); want = v.Screenshot(t) {
		uctx, ucancel := context.WithTimeout(ctx, time.Second)
		_, err := c.Next(uctx)
		ucancel()
		if ctx.Err() != nil {
			t.Fatal("the viewer never showed the target's screen")
		}
		if err != nil && !errors.Is(err, context.DeadlineExceeded) {
			t.Fatal(err)
		}
	}

	live := mustVigil(t, data, "", "live", "--json")
	id := regexp.MustCompile(`"id": "([0-9a-f]{24})"`).FindStringSubmatch(live)
	if id == nil || !strings.Contains(live, `"target": "desk1"`) {
		t.Fatalf("vigil live:\n%s", live)
	}
	mustVigil(t, data, "", "terminate", id[1], "--reason", "end of test")
	for {
		if _, err := c.Next(ctx); err != nil {
			if ctx.Err() != nil {
				t.Fatal("the viewer stayed connected after terminate")
			}
			break
		}
	}
	if _, err := vnc.Dial(ctx, vncAddr, []byte(otp), vnc.Options{}); !errors.Is(err, vnc.ErrAuthFailed) {
		t.Fatalf("the otp worked twice: %v", err)
	}
	deadline := time.Now().Add(15 * time.Second)
	var audit []byte
	for time.Now().Before(deadline) {
		audit, _ = os.ReadFile(filepath.Join(data, "audit.jsonl"))
		if bytes.Contains(audit, []byte(`"session-end"`)) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	for _, kind := range []string{"otp-issued", "otp-used", "otp-failed", "session-start", "session-terminate", "session-end"} {
		if !bytes.Contains(audit, []byte(`"`+kind+`"`)) {
			t.Errorf("no %s in the audit log:\n%s", kind, audit)
		}
	}
	if bytes.Contains(audit, []byte(otp)) || bytes.Contains(audit, []byte(v.Password)) {
		t.Fatal("a password in the audit log")
	}

	// The recording, once sealed: it verifies; its video exports as one MP4 that ffprobe reads;
	// the text-only tools say it is graphical instead of printing nothing.
	var verified string
	for until := time.Now().Add(15 * time.Second); verified == "" && time.Now().Before(until); {
		if out, err := vigil(t, data, "", "verify", id[1]); err == nil {
			verified = out
		} else {
			time.Sleep(200 * time.Millisecond)
		}
	}
	if verified == "" {
		out, _ := vigil(t, data, "", "verify", id[1])
		t.Fatalf("vigil verify %s:\n%s", id[1], out)
	}
	mp4 := filepath.Join(t.TempDir(), "session.mp4")
	mustVigil(t, data, "", "export", "--format", "mp4", id[1], "-o", mp4)
	if out, err := exec.Command("ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", "stream=codec_name", "-of", "csv=p=0", mp4).Output(); err != nil || strings.TrimSpace(string(out)) != "h264" {
		t.Fatalf("ffprobe of the exported mp4: %q %v", out, err)
	}
	if out, err := vigil(t, data, "", "export", "--format", "asciicast", id[1]); err == nil || !strings.Contains(out, "graphical") {
		t.Fatalf("asciicast export of a graphical session: %v\n%s", err, out)
	}
}
