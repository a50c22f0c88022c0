package gateway_test

import (
	"bytes"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/seed18fc72c3/vigil/cmd/gateway"
)

// TestWebTerminalSilentBrowser: a browser that stops answering pings (its machine slept, its
// network dropped without a FIN) ends the session as a vanished client, instead of leaving the
// privileged session open with nobody at it.
func TestWebTerminalSilentBrowser(t *testing.T) {
	old := gateway.SetTermPingEvery(200 * time.Millisecond)
	t.Cleanup(func() { gateway.SetTermPingEvery(old) })
	rig := startWebTermRig(t)
	cookie, _ := webLogin(t, rig.web, "alice")
	u, _ := url.Parse(rig.web)
	conn, _, err := websocket.DefaultDialer.Dial("ws://"+u.Host+"/api/terminal/web01/ws?cols=100&rows=30",
		http.Header{"Cookie": {cookie}, "Origin": {rig.web}})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// Pongs until the prompt shows (a login to sshd can take longer than two pings on a busy
	// machine), then none: a dead peer, as the server sees it.
	var dead atomic.Bool
	conn.SetPingHandler(func(data string) error {
		if dead.Load() {
			return nil
		}
		return conn.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(time.Second))
	})
	var mu sync.Mutex
	var out bytes.Buffer
	closed := make(chan struct{}) // the server closed the socket: ServeFrontend has returned
	go func() {
		defer close(closed)
		for {
			_, b, err := conn.ReadMessage()
			if err != nil {
				return
			}
			mu.Lock()
			out.Write(b)
			mu.Unlock()
		}
	}()
	deadline := time.Now().Add(20 * time.Second) // hang guards, not timing targets
	for {
		mu.Lock()
		ready := strings.Contains(out.String(), "$ ")
		mu.Unlock()
		if ready {
			dead.Store(true)
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no prompt")
		}
		time.Sleep(20 * time.Millisecond)
	}
	select {
	case <-closed:
	case <-time.After(time.Until(deadline)):
		t.Fatal("the session of a browser that stopped answering is still live")
	}
	if n := len(rig.srv.Sessions()); n != 0 {
		t.Errorf("%d sessions live", n)
	}
	recs := waitRecordings(t, rig.store, 1)
	if recs[0].End == nil || !strings.Contains(recs[0].End.Cause, "client vanished") {
		t.Errorf("recorded end %+v, want the client vanished", recs[0].End)
	}
}
