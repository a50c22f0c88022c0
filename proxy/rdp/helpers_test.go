package rdp

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/seed18fc72c3/vigil/capture"
	"github.com/seed18fc72c3/vigil/capture/frame"
)

// screen is a frame.Writer that rebuilds the screen from the damage Run emits, as a recorder
// reading the ring would.
type screen struct {
	mu     sync.Mutex
	fb     *frame.Framebuffer
	frames int
	first  time.Time // when the first Frame event arrived
	clips  []string
	err    error
	pixels int64 // pixels received in Pixels events
}

// at returns the colour at (x, y) of the rebuilt screen.
func (s *screen) at(x, y int) color.RGBA {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fb == nil {
		return color.RGBA{}
	}
	return s.fb.Image().RGBAAt(x, y)
}

func (s *screen) Write(t capture.Type, ch uint16, p []byte) (capture.Event, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch t {
	case capture.TypeDamage:
		if s.fb == nil {
			s.fb = frame.NewFramebuffer(1, 1)
		}
		d, err := s.fb.Apply(p)
		if err != nil && s.err == nil {
			s.err = err
		}
		if d.Kind == frame.KindPixels {
			s.pixels += int64(d.Rect.Dx() * d.Rect.Dy())
		}
		if d.Kind == frame.KindFrame {
			if s.frames == 0 {
				s.first = time.Now()
			}
			s.frames++
		}
	case capture.TypeOutput:
		in, err := frame.ParseInput(p)
		if err == nil && in.Kind == frame.InputClipboard {
			s.clips = append(s.clips, string(in.Text))
		}
	}
	return capture.Event{Type: t, Payload: p}, nil
}

func (s *screen) snapshot() (*image.RGBA, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fb == nil {
		return nil, 0
	}
	return s.fb.Snapshot(), s.frames
}

// run starts sess.Run into a new screen; the returned func stops it and returns Run's error.
func run(t testing.TB, sess *Session) (*screen, func() error) {
	scr := &screen{}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- sess.Run(ctx, &frame.Emitter{W: scr, MaxPayload: 1 << 20}) }()
	var once sync.Once
	var err error
	stop := func() error {
		once.Do(func() { cancel(); err = <-errc })
		return err
	}
	t.Cleanup(func() { stop() })
	return scr, stop
}

// waitFrames waits until the screen has at least n frames.
func waitFrames(t testing.TB, scr *screen, n int, within time.Duration) *image.RGBA {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		img, got := scr.snapshot()
		if got >= n {
			return img
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d frames after %v, want %d", got, within, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Set-1 scancodes of the keys type needs (US layout).
var scancodes = func() map[rune][2]uint16 { // rune -> scancode, shift (0/1)
	m := map[rune][2]uint16{' ': {0x39, 0}, '\n': {0x1c, 0}, '\\': {0x2b, 0}, '|': {0x2b, 1}}
	rows := []struct {
		keys  string
		first uint16
	}{{"1234567890-=", 0x02}, {"qwertyuiop[]", 0x10}, {"asdfghjkl;'`", 0x1e}, {"zxcvbnm,./", 0x2c}}
	shifted := map[rune]rune{'!': '1', '@': '2', '#': '3', '$': '4', '%': '5', '^': '6', '&': '7', '*': '8', '(': '9', ')': '0', '_': '-', '+': '='}
	for _, r := range rows {
		for i, k := range r.keys {
			m[k] = [2]uint16{r.first + uint16(i), 0}
		}
	}
	for s, k := range shifted {
		m[s] = [2]uint16{m[k][0], 1}
	}
	for k := 'a'; k <= 'z'; k++ {
		m[k-'a'+'A'] = [2]uint16{m[k][0], 1}
	}
	return m
}()

const scanLShift = 0x2a

// typeText sends text as key presses and releases, with left shift where needed.
func typeText(t testing.TB, s *Session, text string) {
	t.Helper()
	key := func(sc uint16, down bool) {
		if err := s.Input(frame.Input{Kind: frame.InputKey, Down: down, Scancode: sc}); err != nil {
			t.Fatal(err)
		}
	}
	for _, r := range text {
		k, ok := scancodes[r]
		if !ok {
			t.Fatalf("no scancode for %q", r)
		}
		if k[1] == 1 {
			key(scanLShift, true)
		}
		key(k[0], true)
		key(k[0], false)
		if k[1] == 1 {
			key(scanLShift, false)
		}
	}
}

// ocr reads the text of the top-left w x h of img with the tesseract CLI (the xterm is there),
// inverted (white on black reads badly) and scaled 2x.
func ocr(t testing.TB, img *image.RGBA, w, h int) string {
	t.Helper()
	if _, err := exec.LookPath("tesseract"); err != nil {
		t.Skip("tesseract (Debian tesseract-ocr) not installed")
	}
	r := image.Rect(0, 0, w, h).Intersect(img.Bounds())
	big := image.NewGray(image.Rect(0, 0, 2*r.Dx(), 2*r.Dy()))
	for y := 0; y < big.Rect.Dy(); y++ {
		for x := 0; x < big.Rect.Dx(); x++ {
			c := img.RGBAAt(x/2, y/2)
			big.SetGray(x, y, color.Gray{255 - uint8((int(c.R)+int(c.G)+int(c.B))/3)})
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, big); err != nil {
		t.Fatal(err)
	}
	in := filepath.Join(t.TempDir(), "screen.png")
	if err := os.WriteFile(in, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("tesseract", in, "stdout", "--psm", "6")
	cmd.Env = append(os.Environ(), "OMP_THREAD_LIMIT=1")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("tesseract: %v", err)
	}
	return string(out)
}

// waitText waits until OCR of the xterm's area finds want.
func waitText(t testing.TB, scr *screen, want string, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	var text string
	for time.Now().Before(deadline) {
		img, _ := scr.snapshot()
		if img != nil {
			text = ocr(t, img, 820, 420)
			if strings.Contains(strings.ReplaceAll(text, " ", ""), want) {
				return
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("%q not on screen after %v; OCR read:\n%s", want, within, text)
}

// diffRect is the bounding box of the pixels that differ between a and b (same size).
func diffRect(a, b *image.RGBA) image.Rectangle {
	var r image.Rectangle
	for y := a.Rect.Min.Y; y < a.Rect.Max.Y; y++ {
		for x := a.Rect.Min.X; x < a.Rect.Max.X; x++ {
			i := a.PixOffset(x, y)
			if !bytes.Equal(a.Pix[i:i+3], b.Pix[i:i+3]) {
				r = r.Union(image.Rect(x, y, x+1, y+1))
			}
		}
	}
	return r
}

func keyA(down bool) frame.Input {
	return frame.Input{Kind: frame.InputKey, Down: down, Keysym: 'a', Scancode: 0x1e}
}
