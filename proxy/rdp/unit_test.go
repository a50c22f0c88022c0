package rdp

import (
	"bytes"
	"encoding/binary"
	"errors"
	"image"
	"reflect"
	"strings"
	"testing"

	"github.com/seed18fc72c3/vigil/capture/frame"
	"github.com/seed18fc72c3/vigil/proxy/rdp/internal/wire"
)

func TestPointerEvents(t *testing.T) {
	at := func(x, y int, b uint8) frame.Input {
		return frame.Input{Kind: frame.InputPointer, X: x, Y: y, Buttons: b}
	}
	for _, tc := range []struct {
		name string
		prev uint8
		in   frame.Input
		want []ptrEvent
	}{
		{"move", 0, at(10, 20, 0), []ptrEvent{{ptrMove, 10, 20}}},
		{"still", 0, at(5, 5, 0), nil},
		{"left down", 0, at(5, 5, frame.ButtonLeft), []ptrEvent{{ptrButton1 | ptrDown, 5, 5}}},
		{"left up", frame.ButtonLeft, at(5, 5, 0), []ptrEvent{{ptrButton1, 5, 5}}},
		{"right and middle", 0, at(5, 5, frame.ButtonRight|frame.ButtonMiddle), []ptrEvent{{ptrButton2 | ptrDown, 5, 5}, {ptrButton3 | ptrDown, 5, 5}}},
		{"drag", frame.ButtonLeft, at(6, 5, frame.ButtonLeft), []ptrEvent{{ptrMove, 6, 5}}},
		{"wheel up", 0, at(5, 5, frame.ButtonWheelUp), []ptrEvent{{ptrWheel | 0x78, 5, 5}}},
		{"wheel down", 0, at(5, 5, frame.ButtonWheelDown), []ptrEvent{{ptrWheel | ptrWheelNegative | 0x88, 5, 5}}},
		{"wheel release", frame.ButtonWheelUp, at(5, 5, 0), nil},
		{"hwheel", 0, at(5, 5, frame.ButtonWheelLeft|frame.ButtonWheelRight), []ptrEvent{{ptrHWheel | 0x78, 5, 5}, {ptrHWheel | ptrWheelNegative | 0x88, 5, 5}}},
	} {
		got := pointerEvents(tc.prev, 5, 5, tc.in)
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: %+v, want %+v", tc.name, got, tc.want)
		}
	}
}

func TestOptionsValidate(t *testing.T) {
	good := DefaultOptions()
	good.Host, good.User = "h", "u"
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		field string
		edit  func(*Options)
	}{
		{"Host", func(o *Options) { o.Host = "" }},
		{"User", func(o *Options) { o.User = "" }},
		{"Port", func(o *Options) { o.Port = 70000 }},
		{"Fingerprint", func(o *Options) { o.Fingerprint = []byte{1} }},
		{"Width", func(o *Options) { o.Width = 199 }},
		{"Width", func(o *Options) { o.Width = 8193 }},
		{"security", func(o *Options) { o.Security = "ssl" }},
		{"security rdp", func(o *Options) { o.Security, o.Fingerprint = SecurityRDP, make([]byte, 32) }},
	} {
		o := good
		tc.edit(&o)
		err := o.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.field) {
			t.Errorf("%s: Validate = %v", tc.field, err)
		}
	}
}

func TestFingerprint(t *testing.T) {
	fp := bytes.Repeat([]byte{0xab}, 32)
	for _, s := range []string{FormatFingerprint(fp), strings.Repeat("AB", 32), strings.TrimSuffix(strings.Repeat("ab:", 32), ":")} {
		got, err := ParseFingerprint(s)
		if err != nil || !bytes.Equal(got, fp) {
			t.Errorf("ParseFingerprint(%q) = %x, %v", s, got, err)
		}
	}
	for _, s := range []string{"", "sha256:ab", strings.Repeat("zz", 32), strings.Repeat("ab", 33)} {
		if _, err := ParseFingerprint(s); err == nil {
			t.Errorf("ParseFingerprint(%q) accepted", s)
		}
	}
}

// newTestSession is a Session without a worker, for feeding frames to handle directly.
func newTestSession() *Session {
	return &Session{
		notify: make(chan struct{}, 1), connected: make(chan struct{}), logon: make(chan struct{}),
		done: make(chan struct{}), exited: make(chan struct{}), stderr: &tail{max: 1024},
	}
}

func damageBody(x, y, w, h int, pixLen int) []byte {
	b := u16s(x, y, w, h)
	return append(b, make([]byte, pixLen)...)
}

func TestHandle(t *testing.T) {
	connected := binary.BigEndian.AppendUint32(u16s(64, 32), 1)
	type fr struct {
		t    byte
		body []byte
	}
	hello := fr{wire.Hello, []byte{wire.Version}}
	for _, tc := range []struct {
		name   string
		frames []fr
		want   error // of the last frame
	}{
		{"hello first", []fr{{wire.Heartbeat, nil}}, ErrProtocol},
		{"wrong version", []fr{{wire.Hello, []byte{9}}}, ErrProtocol},
		{"damage before connected", []fr{hello, {wire.Damage, damageBody(0, 0, 1, 1, 4)}}, ErrProtocol},
		{"damage inside", []fr{hello, {wire.Connected, connected}, {wire.Damage, damageBody(63, 31, 1, 1, 4)}}, nil},
		{"damage outside x", []fr{hello, {wire.Connected, connected}, {wire.Damage, damageBody(63, 0, 2, 1, 8)}}, ErrProtocol},
		{"damage outside y", []fr{hello, {wire.Connected, connected}, {wire.Damage, damageBody(0, 32, 1, 1, 4)}}, ErrProtocol},
		{"damage empty", []fr{hello, {wire.Connected, connected}, {wire.Damage, damageBody(0, 0, 0, 1, 0)}}, ErrProtocol},
		{"damage short pixels", []fr{hello, {wire.Connected, connected}, {wire.Damage, damageBody(0, 0, 2, 2, 15)}}, ErrProtocol},
		{"damage long pixels", []fr{hello, {wire.Connected, connected}, {wire.Damage, damageBody(0, 0, 2, 2, 17)}}, ErrProtocol},
		{"size zero", []fr{hello, {wire.Connected, binary.BigEndian.AppendUint32(u16s(0, 32), 1)}}, ErrProtocol},
		{"size too big", []fr{hello, {wire.Connected, binary.BigEndian.AppendUint32(u16s(frame.MaxSide+1, 32), 1)}}, ErrProtocol},
		{"connected twice", []fr{hello, {wire.Connected, connected}, {wire.Connected, connected}}, ErrProtocol},
		{"resize first", []fr{hello, {wire.Resize, u16s(10, 10)}}, ErrProtocol},
		{"certificate short", []fr{hello, {wire.Certificate, make([]byte, 31)}}, ErrProtocol},
		{"unknown", []fr{hello, {0x7f, nil}}, ErrProtocol},
		{"error auth", []fr{hello, {wire.Error, append([]byte{wire.ReasonAuth, 0, 0, 0, 0}, wire.AppendStr16(nil, "no")...)}}, ErrAuth},
		{"error cert", []fr{hello, {wire.Error, append([]byte{wire.ReasonCertificate, 0, 0, 0, 0}, wire.AppendStr16(nil, "")...)}}, ErrCertificate},
		{"error unknown reason", []fr{hello, {wire.Error, append([]byte{99, 0, 0, 0, 0}, wire.AppendStr16(nil, "")...)}}, ErrWorker},
		{"clipboard", []fr{hello, {wire.Clipboard, []byte("text")}}, nil},
	} {
		s, st := newTestSession(), &readState{}
		var err error
		for _, f := range tc.frames {
			if err = s.handle(st, f.t, f.body); err != nil {
				break
			}
		}
		if tc.want == nil && err != nil || tc.want != nil && !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
}

// TestHandleUpdate: damage lands in the screen and reaches pending at EndPaint only.
func TestHandleUpdate(t *testing.T) {
	s, st := newTestSession(), &readState{}
	must := func(typ byte, body []byte) {
		t.Helper()
		if err := s.handle(st, typ, body); err != nil {
			t.Fatal(err)
		}
	}
	must(wire.Hello, []byte{wire.Version})
	must(wire.Connected, binary.BigEndian.AppendUint32(u16s(8, 4), 2))
	px := append(u16s(2, 1, 2, 1), 1, 2, 3, 4, 5, 6, 7, 8)
	must(wire.Damage, px)
	if len(s.pending) != 0 {
		t.Fatal("damage pending before EndPaint")
	}
	must(wire.EndPaint, nil)
	if want := []image.Rectangle{image.Rect(2, 1, 4, 2)}; !reflect.DeepEqual(s.pending, want) {
		t.Fatalf("pending %v, want %v", s.pending, want)
	}
	if got := s.img.Pix[s.img.PixOffset(2, 1):][:8]; !bytes.Equal(got, []byte{1, 2, 3, 4, 5, 6, 7, 8}) {
		t.Fatalf("pixels %v", got)
	}
	for i := 0; i < maxPending+5; i++ {
		must(wire.Damage, append(u16s(i%8, 0, 1, 1), 0, 0, 0, 0))
		must(wire.EndPaint, nil)
	}
	if len(s.pending) > maxPending {
		t.Fatalf("%d rectangles pending, bound %d", len(s.pending), maxPending)
	}
}

// FuzzHandle: whatever the worker sends, handle never panics and never lets a rectangle outside
// the desktop into the screen or the pending list.
func FuzzHandle(f *testing.F) {
	hello := wire.Append(nil, wire.Hello, []byte{wire.Version})
	conn := wire.Append(nil, wire.Connected, binary.BigEndian.AppendUint32(u16s(16, 8), 1))
	f.Add(append(append(bytes.Clone(hello), conn...), wire.Append(wire.Append(nil, wire.Damage, damageBody(1, 1, 2, 2, 16)), wire.EndPaint)...))
	f.Add(append(bytes.Clone(hello), wire.Append(nil, wire.Resize, u16s(4, 4))...))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, st := newTestSession(), &readState{}
		r := wire.NewReader(bytes.NewReader(data))
		for {
			typ, body, err := r.Next()
			if err != nil {
				break
			}
			if s.handle(st, typ, body) != nil {
				break
			}
		}
		if s.img == nil {
			return
		}
		for _, p := range s.pending {
			if !p.In(s.img.Rect) {
				t.Fatalf("pending %v outside %v", p, s.img.Rect)
			}
		}
	})
}

// nopWriter records what the session writes to its worker.
type nopWriter struct{ bytes.Buffer }

func (*nopWriter) Close() error { return nil }

// TestInputKeysymOnly: a key from a VNC viewer carries a keysym and no scancode; the session
// sends the US-layout key that types it.
func TestInputKeysymOnly(t *testing.T) {
	s := newTestSession()
	w := &nopWriter{}
	s.stdin = w
	if err := s.Input(frame.Input{Kind: frame.InputKey, Down: true, Keysym: 'A'}); err != nil {
		t.Fatal(err)
	}
	want := wire.Append(nil, wire.Key, []byte{1, 0x00, 0x1e})
	if !bytes.Equal(w.Bytes(), want) {
		t.Fatalf("wrote % x, want % x (KeyA down)", w.Bytes(), want)
	}
}

func TestInputRejects(t *testing.T) {
	s := newTestSession()
	for _, tc := range []struct {
		in   frame.Input
		want error
	}{
		{frame.Input{Kind: frame.InputKey, Down: true, Keysym: 0x01000416}, ErrNoScancode}, // no US key types it
		{frame.Input{Kind: frame.InputKey, Down: true, Keysym: 'a', Scancode: 0x200}, ErrNoScancode},
		{frame.Input{Kind: frame.InputClipboard, Text: make([]byte, wire.MaxText+1)}, frame.ErrMalformed},
		{frame.Input{Kind: 9}, frame.ErrMalformed},
	} {
		if err := s.Input(tc.in); !errors.Is(err, tc.want) {
			t.Errorf("Input(%+v) = %v, want %v", tc.in.Kind, err, tc.want)
		}
	}
	if err := s.Resize(100, 100); err == nil {
		t.Error("Resize(100, 100) accepted")
	}
	if err := s.Resize(800, 600); !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("Resize without display control = %v, want errors.ErrUnsupported", err)
	}
}
