package gateway_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/seed18fc72c3/vigil/cmd/gateway"
	"github.com/seed18fc72c3/vigil/player"
	"github.com/seed18fc72c3/vigil/proxy/desktop"
	"github.com/seed18fc72c3/vigil/proxy/vnc"
)

// TestWebLiveDesktops: the web UI's live list carries graphical sessions with their protocol and
// size (so its watch link opens the desktop page), and its pause, resume and terminate reach them.
func TestWebLiveDesktops(t *testing.T) {
	rig := startDesktopRig(t)
	ctx := context.Background()
	d, err := (&gateway.WebDesktops{D: rig.d}).Connect(ctx, "alice", "desk1", 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	wl := &gateway.WebLive{Src: rig.live}
	list, err := wl.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].ID != d.ID() || list[0].Protocol != "vnc" || list[0].Width != 1024 || list[0].Height != 768 || list[0].User != "alice" {
		t.Fatalf("live list %+v, want the vnc session with its size", list)
	}
	if err := wl.Pause(ctx, d.ID(), "audrey", "look"); err != nil {
		t.Fatal(err)
	}
	if err := wl.Pause(ctx, d.ID(), "audrey", "again"); !errors.Is(err, player.ErrConflict) {
		t.Fatalf("second pause: %v, want ErrConflict", err)
	}
	if list, _ := wl.List(ctx); len(list) != 1 || !list[0].Paused {
		t.Fatalf("paused session listed as %+v", list)
	}
	if err := wl.Resume(ctx, d.ID(), "audrey"); err != nil {
		t.Fatal(err)
	}
	if err := wl.Terminate(ctx, d.ID(), "audrey", "enough"); err != nil {
		t.Fatal(err)
	}
	<-d.Done()
	if !errors.Is(d.Err(), desktop.ErrTerminated) {
		t.Fatalf("cause %v", d.Err())
	}
	if err := wl.Terminate(ctx, "nope", "audrey", "x"); !errors.Is(err, player.ErrNotFound) {
		t.Fatalf("terminate of no session: %v, want ErrNotFound", err)
	}
}

// TestWebDesktopOTP: the web UI's one-time password opens the granted target from a VNC viewer
// through the front end, once; none is issued without a grant.
func TestWebDesktopOTP(t *testing.T) {
	rig := startDesktopRig(t)
	rig.d.Listen = rig.vncAddr
	web := &gateway.WebDesktops{D: rig.d}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := web.IssueDesktopOTP(ctx, "alice", "desk2"); !errors.Is(err, player.ErrForbidden) && !errors.Is(err, player.ErrNotFound) {
		t.Fatalf("otp without a grant: %v", err)
	}
	if _, err := web.IssueDesktopOTP(ctx, "alice", "nope"); !errors.Is(err, player.ErrNotFound) {
		t.Fatalf("otp for no target: %v", err)
	}
	otp, err := web.IssueDesktopOTP(ctx, "alice", "desk1")
	if err != nil {
		t.Fatal(err)
	}
	if len(otp.Password) != vnc.OTPLen || otp.Address != rig.vncAddr || time.Until(otp.Expires) <= 0 || time.Until(otp.Expires) > time.Minute {
		t.Fatalf("otp %+v", otp)
	}
	c, err := vnc.Dial(ctx, otp.Address, []byte(otp.Password), vnc.Options{})
	if err != nil {
		t.Fatalf("viewer login with the web otp: %v", err)
	}
	c.Close()
	if _, err := vnc.Dial(ctx, otp.Address, []byte(otp.Password), vnc.Options{}); !errors.Is(err, vnc.ErrAuthFailed) {
		t.Fatalf("reused otp: %v", err)
	}
	rig.auditMu.Lock()
	defer rig.auditMu.Unlock()
	for _, e := range rig.audits {
		if strings.Contains(fmt.Sprintf("%+v", e), otp.Password) {
			t.Fatalf("the password in the audit event %+v", e)
		}
	}
}
