package gateway_test

import (
	"context"
	"errors"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/seed18fc72c3/vigil/access"
	"github.com/seed18fc72c3/vigil/cmd/gateway"
	"github.com/seed18fc72c3/vigil/vault"
)

// TestDesktopOpenFailureReason: a desktop that cannot be opened tells the browser why in words fit
// for the user (player closes the websocket with them), never the target's address; the log keeps
// the detail.
func TestDesktopOpenFailureReason(t *testing.T) {
	rig := startDesktopRig(t)
	// A VNC target on a port nothing listens on.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	st := rig.d.Access.Store
	if err := st.AddTarget(access.Target{Name: "dead1", Host: "127.0.0.1", Port: port, Protocol: "vnc"}); err != nil {
		t.Fatal(err)
	}
	if err := st.AddGrant(access.Grant{User: "alice", Target: "dead1", Account: "vnc"}); err != nil {
		t.Fatal(err)
	}
	if err := rig.d.Access.Vault.Set("dead1", "vnc", vault.Secret{Password: []byte("x")}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_, err = (&gateway.WebDesktops{D: rig.d}).Connect(ctx, "alice", "dead1", 800, 600)
	if err == nil {
		t.Fatal("connected to a dead target")
	}
	var um interface{ UserMessage() string }
	if !errors.As(err, &um) {
		t.Fatalf("open error %v carries no user message", err)
	}
	if msg := um.UserMessage(); msg != "cannot reach the target" || strings.Contains(msg, strconv.Itoa(port)) {
		t.Fatalf("user message %q", msg)
	}
	// The full error (for the log) still names what happened.
	if !strings.Contains(err.Error(), "dead1") {
		t.Errorf("error for the log lacks the target: %v", err)
	}
}
