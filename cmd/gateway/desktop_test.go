package gateway_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"image"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/seed18fc72c3/vigil/access"
	"github.com/seed18fc72c3/vigil/capture/frame"
	"github.com/seed18fc72c3/vigil/cmd/gateway"
	"github.com/seed18fc72c3/vigil/cmd/nodekeys"
	"github.com/seed18fc72c3/vigil/encode"
	"github.com/seed18fc72c3/vigil/encode/video"
	"github.com/seed18fc72c3/vigil/fixtures/testenv"
	"github.com/seed18fc72c3/vigil/player"
	"github.com/seed18fc72c3/vigil/proxy/desktop"
	proxyssh "github.com/seed18fc72c3/vigil/proxy/ssh"
	"github.com/seed18fc72c3/vigil/proxy/vnc"
	"github.com/seed18fc72c3/vigil/storage/file"
	"github.com/seed18fc72c3/vigil/vault"
)

type desktopRig struct {
	vnc      *testenv.VNC
	store    *gateway.Recordings
	d        *gateway.Desktops
	live     *gateway.GatewayLive
	vncAddr  string
	control  *httptest.Server
	auditMu  sync.Mutex
	audits   []proxyssh.AuditEvent
	password string
}

// startDesktopRig runs a real x11vnc target (desk1, granted to alice; desk2, not) behind the
// gateway's Desktops with the real video recorder, the VNC front end and the control routes.
func startDesktopRig(t *testing.T) *desktopRig {
	t.Helper()
	v := testenv.StartVNC(t)
	v.Run(t, "xsetroot", "-solid", "#204080")
	dir := t.TempDir()
	backend, err := file.New(filepath.Join(dir, "store"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { backend.Close() })
	keys, err := nodekeys.Ensure(filepath.Join(dir, "keys"))
	if err != nil {
		t.Fatal(err)
	}
	host, port, _ := net.SplitHostPort(v.Addr)
	p, _ := strconv.Atoi(port)
	acc, err := access.OpenStore(filepath.Join(dir, "access.json"), access.Config{
		Users:   []access.User{{Name: "alice", Role: access.RoleUser}},
		Targets: []access.Target{{Name: "desk1", Host: host, Port: p, Protocol: "vnc"}, {Name: "desk2", Host: host, Port: p, Protocol: "vnc"}},
		Grants:  []access.Grant{{User: "alice", Target: "desk1", Account: "vnc"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	vt, err := vault.Open(filepath.Join(dir, "vault"))
	if err != nil {
		t.Fatal(err)
	}
	if err := vt.Set("desk1", "vnc", vault.Secret{Password: []byte(v.Password)}); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	ctx, cancel := context.WithCancel(context.Background())
	rig := &desktopRig{vnc: v, store: gateway.NewRecordings(backend, keys, nil), password: v.Password}
	pol := &gateway.Access{Store: acc, Vault: vt, Log: log}
	rig.d = &gateway.Desktops{Ctx: ctx, Access: pol, Registry: desktop.NewRegistry(), OTPs: vnc.NewOTPs(time.Minute),
		Recorder: &gateway.DesktopRecorder{Store: rig.store, Log: log, Options: video.Options{SegmentDuration: time.Second}},
		Log:      log,
		Audit: func(e proxyssh.AuditEvent) {
			rig.auditMu.Lock()
			rig.audits = append(rig.audits, e)
			rig.auditMu.Unlock()
		}}
	sc := proxyssh.DefaultConfig()
	sc.HostSigner = newHostSigner(t)
	sc.Auth, sc.Policy = pol, pol
	sc.Recorder = &gateway.Recorder{Store: rig.store, Log: log, Options: encode.DefaultOptions()}
	sc.Logger = log
	srv, err := proxyssh.NewServer(sc)
	if err != nil {
		t.Fatal(err)
	}
	rig.live = &gateway.GatewayLive{Server: srv, Desktops: rig.d}
	rig.control = httptest.NewServer(gateway.LiveHandler(rig.live, log))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	rig.vncAddr = ln.Addr().String()
	done := make(chan struct{})
	go func() {
		defer close(done)
		rig.d.ServeVNC(ctx, ln)
	}()
	t.Cleanup(func() {
		rig.control.Close()
		cancel()
		<-done
		for _, l := range rig.d.Registry.Sessions() {
			if s, err := rig.d.Registry.Session(l.ID); err == nil {
				<-s.Done()
			}
		}
	})
	return rig
}

func (r *desktopRig) post(t *testing.T, path string, body any) *http.Response {
	t.Helper()
	b, _ := json.Marshal(body)
	resp, err := http.Post(r.control.URL+path, "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func sameScreen(a, b *image.RGBA) bool {
	return a.Rect == b.Rect && bytes.Equal(a.Pix, b.Pix)
}

// TestDesktopGateway: an OTP from the control socket logs a VNC viewer in to a vaulted VNC target;
// the session is listed as vnc, paused and terminated through the live routes, recorded as video
// with the auditor's cause, and audited; OTPs are refused for targets without a grant.
func TestDesktopGateway(t *testing.T) {
	rig := startDesktopRig(t)
	// The access store does not tell a target without a grant from no target at all.
	if _, err := rig.d.IssueOTP("alice", "desk2"); !errors.Is(err, gateway.ErrDesktopDenied) && !errors.Is(err, gateway.ErrNoDesktopTarget) {
		t.Fatalf("otp without a grant: %v", err)
	}
	if _, err := rig.d.IssueOTP("alice", "nope"); !errors.Is(err, gateway.ErrNoDesktopTarget) {
		t.Fatalf("otp for no target: %v", err)
	}
	if resp := rig.post(t, "/api/live/vnc-otp", gateway.OTPRequest{User: "alice", Target: "desk2"}); resp.StatusCode != http.StatusForbidden && resp.StatusCode != http.StatusNotFound {
		t.Fatalf("control otp without grant: %d", resp.StatusCode)
	}
	resp := rig.post(t, "/api/live/vnc-otp", gateway.OTPRequest{User: "alice", Target: "desk1"})
	var otp gateway.OTPResponse
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&otp) != nil || len(otp.Password) != vnc.OTPLen {
		t.Fatalf("control otp: %d %+v", resp.StatusCode, otp)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := vnc.Dial(ctx, rig.vncAddr, []byte(otp.Password), vnc.Options{})
	if err != nil {
		t.Fatalf("viewer login: %v", err)
	}
	defer c.Close()
	for want := rig.vnc.Screenshot(t); !sameScreen(c.Framebuffer(), want); want = rig.vnc.Screenshot(t) {
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

	lr, err := http.Get(rig.control.URL + "/api/live")
	if err != nil {
		t.Fatal(err)
	}
	var list []desktop.LiveSession
	json.NewDecoder(lr.Body).Decode(&list)
	lr.Body.Close()
	if len(list) != 1 || list[0].Protocol != "vnc" || list[0].User != "alice" || list[0].Target != "desk1" || list[0].Width != 1024 {
		t.Fatalf("live list %+v", list)
	}
	id := list[0].ID
	if resp := rig.post(t, "/api/live/"+id+"/pause", gateway.LiveAction{By: "os:audrey", Reason: "check"}); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("pause: %d", resp.StatusCode)
	}
	if resp := rig.post(t, "/api/live/"+id+"/pause", gateway.LiveAction{By: "os:audrey"}); resp.StatusCode != http.StatusConflict {
		t.Fatalf("second pause: %d", resp.StatusCode)
	}
	// A shadow from the web UI sees the screen and cannot type.
	sh, err := (&gateway.WebDesktops{D: rig.d}).Shadow(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if err := sh.Input(frameKey()); !errors.Is(err, player.ErrReadOnly) {
		t.Fatalf("shadow input: %v", err)
	}
	img, rd, err := sh.Attach()
	if err != nil || img.Rect.Dx() != 1024 {
		t.Fatalf("shadow attach: %v", err)
	}
	rd.Close()
	sh.Close()

	s, err := rig.d.Registry.Session(id)
	if err != nil {
		t.Fatal(err)
	}
	if resp := rig.post(t, "/api/live/"+id+"/terminate", gateway.LiveAction{By: "os:audrey", Reason: "done here"}); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("terminate: %d", resp.StatusCode)
	}
	for {
		if _, err := c.Next(ctx); err != nil {
			break
		}
	}
	<-s.Done()
	if !errors.Is(s.Err(), desktop.ErrTerminated) {
		t.Fatalf("cause %v", s.Err())
	}
	if resp := rig.post(t, "/api/live/"+id+"/terminate", gateway.LiveAction{By: "os:audrey"}); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("terminate an ended session: %d", resp.StatusCode)
	}
	// The OTP is spent.
	if _, err := vnc.Dial(ctx, rig.vncAddr, []byte(otp.Password), vnc.Options{}); !errors.Is(err, vnc.ErrAuthFailed) {
		t.Fatalf("reused otp: %v", err)
	}

	recs, err := rig.store.List(ctx)
	if err != nil || len(recs) != 1 {
		t.Fatalf("recordings %v %v", recs, err)
	}
	rec := recs[0]
	if rec.Session.Protocol != "vnc" || rec.Segments < 2 || rec.End == nil || !strings.Contains(rec.End.Cause, "terminated by os:audrey: done here") {
		t.Fatalf("recording %+v end %+v", rec, rec.End)
	}

	rig.auditMu.Lock()
	defer rig.auditMu.Unlock()
	kinds := map[string]int{}
	for _, e := range rig.audits {
		kinds[e.Kind]++
		line := e.User + e.Target + e.Detail + e.Remote + e.Actor
		if e.Cause != nil {
			line += e.Cause.Error()
		}
		if strings.Contains(line, rig.password) || strings.Contains(line, otp.Password) {
			t.Fatalf("a secret in the audit event %+v", e)
		}
	}
	for _, k := range []string{gateway.AuditOTPIssued, gateway.AuditOTPUsed, gateway.AuditOTPFailed, proxyssh.AuditSessionStart,
		proxyssh.AuditPause, proxyssh.AuditTerminate, proxyssh.AuditSessionEnd} {
		if kinds[k] == 0 {
			t.Errorf("no %s audit event; got %v", k, kinds)
		}
	}
}

func frameKey() frame.Input { return frame.Input{Kind: frame.InputKey, Down: true, Keysym: 0xff0d} }
