package player

import (
	"context"
	"fmt"
	"image"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/seed18fc72c3/vigil/capture"
	"github.com/seed18fc72c3/vigil/capture/frame"
)

// fakeDesktop is a graphical session whose ring is fed by a frame.Emitter, the way the back ends
// feed theirs, and which keeps its own Framebuffer as the gateway's screen model does.
type fakeDesktop struct {
	id       string
	readOnly bool
	ring     *capture.Ring
	em       *frame.Emitter

	mu      sync.Mutex // held across a whole update, so Attach sees a consistent screen
	fb      *frame.Framebuffer
	inputs  []frame.Input
	resizes []image.Point

	attaches atomic.Int32
	closed   chan struct{}
	once     sync.Once
	done     chan struct{}
	err      error
	endCause string // EndCause's answer; set before end
}

// teeWriter writes damage to the ring and to the desktop's own model.
type teeWriter struct {
	d *fakeDesktop
	p *capture.Producer
}

func (w teeWriter) Write(t capture.Type, ch uint16, p []byte) (capture.Event, error) {
	if t == capture.TypeDamage {
		if _, err := w.d.fb.Apply(p); err != nil {
			return capture.Event{}, err
		}
	}
	return w.p.Write(t, ch, p)
}

func newFakeDesktop(t testing.TB, id string, img *image.RGBA, cfg capture.Config) *fakeDesktop {
	t.Helper()
	ring, err := capture.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ring.Close)
	b := img.Bounds()
	d := &fakeDesktop{id: id, ring: ring, fb: frame.NewFramebuffer(b.Dx(), b.Dy()),
		closed: make(chan struct{}), done: make(chan struct{})}
	d.em = &frame.Emitter{W: teeWriter{d: d, p: ring.NewProducer()}, MaxPayload: cfg.MaxRead}
	d.update(img, b)
	return d
}

// graphicalConfig is the ring contract's configuration of graphical sessions.
var graphicalConfig = capture.Config{ArenaBytes: 64 << 20, Records: 64 << 10, MaxRead: 1 << 20, StallTimeout: 10 * time.Second}

// update draws rects of img and ends the update with a Frame event.
func (d *fakeDesktop) update(img *image.RGBA, rects ...image.Rectangle) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.em.Update(img, rects); err != nil {
		panic(err)
	}
}

// resize changes the desktop size and draws all of img at it.
func (d *fakeDesktop) resize(img *image.RGBA) {
	d.mu.Lock()
	defer d.mu.Unlock()
	b := img.Bounds()
	if err := d.em.Size(b.Dx(), b.Dy()); err != nil {
		panic(err)
	}
	if err := d.em.Update(img, []image.Rectangle{b}); err != nil {
		panic(err)
	}
}

// writeRaw puts any payload into the ring (clipboard, cursor, malformed damage).
func (d *fakeDesktop) writeRaw(t capture.Type, p []byte) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, err := d.em.W.(teeWriter).p.Write(t, 0, p); err != nil {
		panic(err)
	}
}

func (d *fakeDesktop) end(err error) {
	d.err = err
	close(d.done)
	d.ring.Close()
}

func (d *fakeDesktop) ID() string { return d.id }

func (d *fakeDesktop) EndCause() string { return d.endCause }

func (d *fakeDesktop) Attach() (*image.RGBA, *capture.Reader, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.attaches.Add(1)
	return d.fb.Snapshot(), d.ring.NewReader(capture.Lossy), nil
}

func (d *fakeDesktop) Input(in frame.Input) error {
	if d.readOnly {
		return fmt.Errorf("fake input: %w", ErrReadOnly)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	in.Text = append([]byte(nil), in.Text...)
	d.inputs = append(d.inputs, in)
	return nil
}

func (d *fakeDesktop) gotInputs() []frame.Input {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]frame.Input(nil), d.inputs...)
}

func (d *fakeDesktop) gotResizes() []image.Point {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]image.Point(nil), d.resizes...)
}

func (d *fakeDesktop) Resize(w, h int) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.resizes = append(d.resizes, image.Pt(w, h))
	return nil
}

func (d *fakeDesktop) Done() <-chan struct{} { return d.done }
func (d *fakeDesktop) Err() error            { return d.err }
func (d *fakeDesktop) Close() error          { d.once.Do(func() { close(d.closed) }); return nil }

// fakeDesktops lets alice connect to desk01 (the desktop conn) and anyone authorized shadow the
// desktops in live.
type fakeDesktops struct {
	mu       sync.Mutex
	conn     *fakeDesktop
	live     map[string]*fakeDesktop
	connects []string // "user target WxH"
}

func (f *fakeDesktops) Connect(_ context.Context, user, target string, w, h int) (Desktop, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.connects = append(f.connects, fmt.Sprintf("%s %s %dx%d", user, target, w, h))
	switch {
	case target != "desk01":
		return nil, fmt.Errorf("connect %s: %w", target, ErrNotFound)
	case user != "alice":
		return nil, fmt.Errorf("connect %s as %s: %w", target, user, ErrForbidden)
	}
	return f.conn, nil
}

func (f *fakeDesktops) Shadow(_ context.Context, id string) (Desktop, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	d := f.live[id]
	if d == nil {
		return nil, fmt.Errorf("shadow %s: %w", id, ErrNotFound)
	}
	return d, nil
}

func (f *fakeDesktops) DesktopTargets(_ context.Context, u User) ([]DesktopTarget, error) {
	if u.Name != "alice" {
		return nil, nil
	}
	return []DesktopTarget{{Name: "win01", Protocol: "rdp"}, {Name: "desk01", Protocol: "vnc"}}, nil
}

// testScreen is a desktop-like picture: a flat background, a gradient panel, noise and some
// "text" (runs of dark pixels), so tiles exercise both compressible and incompressible data.
func testScreen(w, h int, seed uint64) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	r := rand.New(rand.NewPCG(seed, 2))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			i := img.PixOffset(x, y)
			c := [3]byte{0x2d, 0x5f, 0x8c}
			switch {
			case x < w/3:
				c = [3]byte{byte(x), byte(y), byte(x + y)}
			case y > h*2/3:
				c = [3]byte{byte(r.Uint32()), byte(r.Uint32()), byte(r.Uint32())}
			case (x/3+y/7+int(seed))%5 == 0:
				c = [3]byte{0xf0, 0xf0, 0xf0}
			}
			copy(img.Pix[i:], []byte{c[0], c[1], c[2], 0xff})
		}
	}
	return img
}
