package vnc

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/seed18fc72c3/vigil/capture"
	"github.com/seed18fc72c3/vigil/capture/frame"
	"github.com/seed18fc72c3/vigil/fixtures/testenv"
	"github.com/seed18fc72c3/vigil/proxy/desktop"
)

var _ desktop.Target = (*Target)(nil)

// eventRecorder is a desktop.Recorder that keeps the ring's events (a lossless reader, like the
// real recorder).
type eventRecorder struct {
	mu     sync.Mutex
	events []capture.Event
	cause  error
	done   chan struct{}
}

func (m *eventRecorder) Start(ctx context.Context, info desktop.Info, ring *capture.Ring) (desktop.Recording, error) {
	rd := ring.NewReader(capture.Lossless)
	m.done = make(chan struct{})
	go func() {
		defer close(m.done)
		defer rd.Close()
		for {
			ev, err := rd.Next(context.Background())
			if err != nil {
				return
			}
			ev.Payload = append([]byte(nil), ev.Payload...)
			m.mu.Lock()
			m.events = append(m.events, ev)
			m.mu.Unlock()
		}
	}()
	return m, nil
}

func (m *eventRecorder) Close(cause error) error {
	<-m.done
	m.mu.Lock()
	m.cause = cause
	m.mu.Unlock()
	return nil
}

func (m *eventRecorder) all() []capture.Event {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]capture.Event(nil), m.events...)
}

func startDesktop(t *testing.T, v *testenv.VNC, cfg desktop.Config) (*desktop.Session, *eventRecorder) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	tg, err := DialTarget(ctx, v.Addr, []byte(v.Password), Options{Shared: true,
		Encodings: []Encoding{EncodingZRLE, EncodingHextile, EncodingRaw, EncodingCopyRect, EncodingDesktopSize, EncodingCursor}})
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	rec := &eventRecorder{}
	cfg.Recorder = rec
	cfg.Logger = slog.New(slog.DiscardHandler)
	s, err := desktop.Start(context.Background(), cfg, desktop.Info{User: "alice", Target: "desk", Protocol: "vnc", Via: "test"}, tg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		s.End(nil)
		<-s.Done()
	})
	return s, rec
}

// waitSessionMatch attaches to s until its snapshot equals an xwd screenshot of the display.
func waitSessionMatch(t *testing.T, s *desktop.Session, v *testenv.VNC) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	diff := -1
	for time.Now().Before(deadline) {
		want := v.Screenshot(t)
		img, rd, err := s.Attach()
		if err != nil {
			t.Fatal(err)
		}
		rd.Close()
		if diff = countDiff(img, want); diff == 0 {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("the session's screen never matched the X screen: %d pixels differ", diff)
}

// TestTargetSessionPixelExact runs a desktop.Session over a real x11vnc and Xtigervnc and
// compares the session's screen model with xwd's screenshot, before and after a change.
func TestTargetSessionPixelExact(t *testing.T) {
	for _, srv := range servers {
		t.Run(srv.name, func(t *testing.T) {
			v := srv.start(t)
			drawScene(t, v)
			s, _ := startDesktop(t, v, desktop.Config{})
			waitSessionMatch(t, s, v)
			v.Run(t, "xsetroot", "-solid", "#12ab34")
			waitSessionMatch(t, s, v)
			// A viewer following the lossy reader from a snapshot stays exact too.
			img, rd, err := s.Attach()
			if err != nil {
				t.Fatal(err)
			}
			defer rd.Close()
			fb := frame.NewFramebuffer(1, 1)
			fb.Load(img)
			v.Run(t, "xsetroot", "-solid", "#a02050")
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			for {
				ev, err := rd.Next(ctx)
				if err != nil {
					t.Fatalf("follow: %v", err)
				}
				if ev.Type != capture.TypeDamage {
					continue
				}
				if _, err := fb.Apply(ev.Payload); err != nil {
					t.Fatal(err)
				}
				if d, _ := frame.Parse(ev.Payload); d.Kind == frame.KindFrame && countDiff(fb.Image(), v.Screenshot(t)) == 0 {
					break
				}
			}
		})
	}
}

// TestTargetSessionInputRedacted types into an xterm through Session.Input: the shell gets the
// text, the recording holds only redaction counts for the printable keys, and Return.
func TestTargetSessionInputRedacted(t *testing.T) {
	v := testenv.StartVNC(t)
	out := filepath.Join(t.TempDir(), "typed")
	term := v.Command(t, "xterm", "-geometry", "40x5+0+0", "-e", "sh", "-c", `read line; echo "$line" > "$0"; sleep 600`, out)
	if err := term.Start(); err != nil {
		t.Skipf("xterm: %v", err)
	}
	s, rec := startDesktop(t, v, desktop.Config{})
	time.Sleep(time.Second) // let xterm map before the pointer enters it
	const secret = "hunter2x"
	ins := []frame.Input{{Kind: frame.InputPointer, X: 50, Y: 30}}
	for _, r := range secret {
		ins = append(ins, frame.Input{Kind: frame.InputKey, Down: true, Keysym: uint32(r)}, frame.Input{Kind: frame.InputKey, Keysym: uint32(r)})
	}
	ins = append(ins, frame.Input{Kind: frame.InputKey, Down: true, Keysym: 0xff0d}, frame.Input{Kind: frame.InputKey, Keysym: 0xff0d})
	for _, in := range ins {
		if err := s.Input(in); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		if b, err := os.ReadFile(out); err == nil && strings.TrimSpace(string(b)) == secret {
			break
		}
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(out)
			t.Fatalf("the shell read %q, want the typed text", b)
		}
		time.Sleep(100 * time.Millisecond)
	}
	s.End(nil)
	<-s.Done()
	var redacted, returns int
	for _, ev := range rec.all() {
		switch ev.Type {
		case capture.TypeRedacted:
			redacted++
		case capture.TypeInput:
			in, err := frame.ParseInput(ev.Payload)
			if err != nil {
				t.Fatal(err)
			}
			if in.Kind == frame.InputKey && in.Keysym == 0xff0d {
				returns++
			}
			if in.Printable() {
				t.Fatalf("printable key %#x in the recording", in.Keysym)
			}
		}
		if bytes.Contains(ev.Payload, []byte(secret)) {
			t.Fatal("the typed text is in the recording")
		}
	}
	if redacted != len(secret) || returns != 2 {
		t.Fatalf("%d redactions (want %d), %d Return events (want 2)", redacted, len(secret), returns)
	}
}

func TestClipboardConversion(t *testing.T) {
	if got := latin1ToUTF8([]byte{'a', 0xe9, 0xff}, 1<<20); string(got) != "aéÿ" {
		t.Fatalf("latin1ToUTF8 = %q", got)
	}
	if got := latin1ToUTF8([]byte{0xe9, 0xe9, 0xe9}, 5); string(got) != "éé" {
		t.Fatalf("bounded latin1ToUTF8 = %q", got)
	}
	if got := utf8ToLatin1([]byte("aé€\xffb")); !bytes.Equal(got, []byte{'a', 0xe9, 'b'}) {
		t.Fatalf("utf8ToLatin1 = %q", got)
	}
}
