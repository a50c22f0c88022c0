package vnc

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// Encoding is an RFB encoding number.
type Encoding int32

// The encodings this client decodes.
const (
	EncodingRaw         Encoding = 0
	EncodingCopyRect    Encoding = 1
	EncodingHextile     Encoding = 5
	EncodingZRLE        Encoding = 16
	EncodingCursor      Encoding = -239 // pseudo-encoding: cursor shape
	EncodingDesktopSize Encoding = -223 // pseudo-encoding: the server may resize the desktop
)

// DefaultEncodings is the preference order sent when Options.Encodings is empty.
var DefaultEncodings = []Encoding{EncodingZRLE, EncodingHextile, EncodingCopyRect, EncodingRaw,
	EncodingDesktopSize, EncodingCursor}

// Options tune a Client; the zero value is usable.
type Options struct {
	// Shared asks the server to keep other viewers connected (ClientInit's shared flag).
	Shared bool
	// Encodings in order of preference; empty means DefaultEncodings. Servers may still send
	// Raw, which is always decoded.
	Encodings []Encoding
	// MaxWidth and MaxHeight bound the desktop (default 8192 each): a bigger ServerInit or
	// DesktopSize is ErrTooLarge rather than a huge allocation.
	MaxWidth, MaxHeight int
	// MaxCursor bounds the cursor shape's side (default 256).
	MaxCursor int
	// MaxCutText bounds the clipboard text kept from one ServerCutText (default 1 MiB); the rest
	// is read and dropped.
	MaxCutText int
	// StallTimeout ends the connection when the server stops sending in the middle of a message
	// or of the handshake (default 30s). Waiting for the next message has no timeout: an idle
	// desktop sends nothing.
	StallTimeout time.Duration
}

func (o Options) withDefaults() Options {
	if len(o.Encodings) == 0 {
		o.Encodings = DefaultEncodings
	}
	if o.MaxWidth <= 0 {
		o.MaxWidth = 8192
	}
	if o.MaxHeight <= 0 {
		o.MaxHeight = 8192
	}
	if o.MaxCursor <= 0 {
		o.MaxCursor = 256
	}
	if o.MaxCutText <= 0 {
		o.MaxCutText = 1 << 20
	}
	if o.StallTimeout <= 0 {
		o.StallTimeout = 30 * time.Second
	}
	return o
}

// Cursor is a cursor shape from the Cursor pseudo-encoding: transparent where the server's
// mask is clear. An empty Image means the cursor is hidden.
type Cursor struct {
	Image   *image.RGBA
	Hotspot image.Point
}

// Update is what one server message changed.
type Update struct {
	Rects   []image.Rectangle // damaged framebuffer rectangles, in the order decoded
	Resized bool              // the framebuffer was replaced by one of a new size
	Cursor  *Cursor           // a new cursor shape, or nil
	Bell    bool
	CutText []byte // the server's clipboard (Latin-1), or nil
}

// Client is a connection to a VNC server. Next must be called from one goroutine; Key, Pointer
// and Request may be called from any.
type Client struct {
	conn  net.Conn
	stall *stallReader
	dec   *decoder
	init  ServerInit
	opts  Options

	wmu    sync.Mutex // serialises client-to-server messages
	closed atomic.Bool
	broken error // the error that ended Next; Next's goroutine only
}

// Dial connects to addr, runs the handshake with password (none when empty), asks for 32-bit
// true colour and the encodings of opts, and requests the whole screen. ctx bounds the dial and
// the handshake. Errors wrap ErrAuthFailed, ErrRefused, ErrNoSecurityType, ErrVersion,
// ErrProtocol or ErrTooLarge.
func Dial(ctx context.Context, addr string, password []byte, opts Options) (*Client, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("vnc: dial %s: %w", addr, err)
	}
	c, err := NewClient(ctx, conn, password, opts)
	if err != nil {
		conn.Close()
		return nil, err
	}
	return c, nil
}

// NewClient runs the handshake over an established connection; see Dial. The Client owns conn
// from then on, and closes it on Close.
func NewClient(ctx context.Context, conn net.Conn, password []byte, opts Options) (*Client, error) {
	opts = opts.withDefaults()
	stall := &stallReader{conn: conn, timeout: opts.StallTimeout, armed: true}
	r := bufio.NewReaderSize(stall, 64<<10)
	stop := context.AfterFunc(ctx, func() {
		stall.interrupt()
		conn.SetWriteDeadline(time.Unix(1, 0))
	})
	defer stop()
	conn.SetWriteDeadline(time.Now().Add(opts.StallTimeout))
	init, err := handshake(r, conn, password, opts.Shared, &opts)
	if err != nil {
		return nil, ctxErr(ctx, err)
	}
	c := &Client{conn: conn, stall: stall, init: init, opts: opts,
		dec: newDecoder(r, image.NewRGBA(image.Rect(0, 0, init.Width, init.Height)), &opts)}
	if err := c.setup(); err != nil {
		return nil, ctxErr(ctx, err)
	}
	conn.SetWriteDeadline(time.Time{})
	return c, nil
}

func (c *Client) setup() error {
	msg := make([]byte, 20)
	msg[0] = 0 // SetPixelFormat
	rgbaFormat.marshal(msg[4:])
	encs := make([]byte, 4+4*len(c.opts.Encodings))
	encs[0] = 2 // SetEncodings
	binary.BigEndian.PutUint16(encs[2:], uint16(len(c.opts.Encodings)))
	for i, e := range c.opts.Encodings {
		binary.BigEndian.PutUint32(encs[4+4*i:], uint32(e))
	}
	if err := c.write(append(msg, encs...)); err != nil {
		return fmt.Errorf("vnc: write setup: %w", err)
	}
	return c.Request(false, c.dec.fb.Bounds())
}

// Init returns what the server said at the end of the handshake.
func (c *Client) Init() ServerInit { return c.init }

// Framebuffer returns the decoded screen. It is replaced on a resize and written by Next: read
// it between calls to Next, from Next's goroutine.
func (c *Client) Framebuffer() *image.RGBA { return c.dec.fb }

// Next reads server messages until one changes something and returns what it changed. After a
// FramebufferUpdate it asks for the next incremental update itself, so a caller only loops on
// Next. It blocks until the server sends or ctx ends; a server that stalls in the middle of a
// message is cut off after Options.StallTimeout. When ctx ends while no message has begun, Next
// returns ctx's error and may be called again; any other error, including ctx ending in the
// middle of a message, leaves the Client unusable: Close it.
func (c *Client) Next(ctx context.Context) (Update, error) {
	if c.broken != nil {
		return Update{}, c.broken
	}
	u, idle, err := c.next(ctx)
	if err != nil && !idle {
		c.broken = err
	}
	return u, err
}

// next reports idle when it returns because ctx ended before a message began, which leaves the
// stream in step.
func (c *Client) next(ctx context.Context) (u Update, idle bool, err error) {
	for {
		if c.closed.Load() {
			return Update{}, false, ErrClosed
		}
		c.stall.wait()
		stop := context.AfterFunc(ctx, c.stall.interrupt)
		_, err := c.dec.r.Peek(1)
		if err != nil {
			stop()
			idle := ctx.Err() != nil && errors.Is(err, os.ErrDeadlineExceeded)
			return Update{}, idle, ctxErr(ctx, fmt.Errorf("vnc: read message: %w", err))
		}
		c.stall.arm()
		u, ok, err := c.dec.message()
		stop()
		if err != nil {
			return Update{}, false, ctxErr(ctx, err)
		}
		if !ok {
			continue
		}
		if u.Rects != nil || u.Resized || u.Cursor != nil {
			// One FramebufferUpdate answered; ask for the next. After a resize the whole new
			// screen is asked for, as the old incremental state no longer applies.
			if err := c.Request(!u.Resized, c.dec.fb.Bounds()); err != nil {
				return Update{}, false, err
			}
		}
		return u, false, nil
	}
}

// Request sends a FramebufferUpdateRequest for r (clipped to the framebuffer's 16-bit space).
func (c *Client) Request(incremental bool, r image.Rectangle) error {
	msg := make([]byte, 10)
	msg[0] = 3
	msg[1] = boolByte(incremental)
	binary.BigEndian.PutUint16(msg[2:], uint16(max(r.Min.X, 0)))
	binary.BigEndian.PutUint16(msg[4:], uint16(max(r.Min.Y, 0)))
	binary.BigEndian.PutUint16(msg[6:], uint16(min(max(r.Dx(), 0), 0xffff)))
	binary.BigEndian.PutUint16(msg[8:], uint16(min(max(r.Dy(), 0), 0xffff)))
	if err := c.write(msg); err != nil {
		return fmt.Errorf("vnc: write update request: %w", err)
	}
	return nil
}

// Key sends a KeyEvent: keysym is an X11 keysym (e.g. 0xff0d Return).
func (c *Client) Key(down bool, keysym uint32) error {
	msg := make([]byte, 8)
	msg[0] = 4
	msg[1] = boolByte(down)
	binary.BigEndian.PutUint32(msg[4:], keysym)
	if err := c.write(msg); err != nil {
		return fmt.Errorf("vnc: write key event: %w", err)
	}
	return nil
}

// Pointer sends a PointerEvent: buttons is a mask, bit 0 the left button, bits 3 and 4 the
// wheel. Coordinates are clamped to the framebuffer.
func (c *Client) Pointer(x, y int, buttons uint8) error {
	msg := make([]byte, 6)
	msg[0] = 5
	msg[1] = buttons
	binary.BigEndian.PutUint16(msg[2:], uint16(min(max(x, 0), 0xffff)))
	binary.BigEndian.PutUint16(msg[4:], uint16(min(max(y, 0), 0xffff)))
	if err := c.write(msg); err != nil {
		return fmt.Errorf("vnc: write pointer event: %w", err)
	}
	return nil
}

// Close closes the connection; a blocked Next returns.
func (c *Client) Close() error {
	if c.closed.Swap(true) {
		return nil
	}
	return c.conn.Close()
}

func (c *Client) write(b []byte) error {
	if c.closed.Load() {
		return ErrClosed
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	// A server that stops reading must not block the user's input forever.
	c.conn.SetWriteDeadline(time.Now().Add(c.opts.StallTimeout))
	_, err := c.conn.Write(b)
	return err
}

// ctxErr prefers the context's error when the context ended the operation (its deadline is what
// broke the read).
func ctxErr(ctx context.Context, err error) error {
	if cerr := ctx.Err(); cerr != nil && errors.Is(err, os.ErrDeadlineExceeded) {
		return fmt.Errorf("%w (%v)", cerr, err)
	}
	return err
}

// stallReader gives each read of conn a fresh deadline while armed, so a server that stops
// sending in the middle of a message is cut off after the stall timeout, however large the
// message. interrupt (a context ending) sets a past deadline that the next reads keep, until
// wait clears it; the mutex keeps a read from overwriting an interrupt that races with it.
type stallReader struct {
	conn    net.Conn
	timeout time.Duration

	mu          sync.Mutex
	armed       bool
	interrupted bool
}

func (s *stallReader) Read(p []byte) (int, error) {
	s.mu.Lock()
	if s.armed && !s.interrupted {
		s.conn.SetReadDeadline(time.Now().Add(s.timeout))
	}
	s.mu.Unlock()
	return s.conn.Read(p)
}

// wait disarms the stall timeout (the server may be idle between messages) and clears a past
// interrupt.
func (s *stallReader) wait() {
	s.mu.Lock()
	s.armed, s.interrupted = false, false
	s.conn.SetReadDeadline(time.Time{})
	s.mu.Unlock()
}

func (s *stallReader) arm() {
	s.mu.Lock()
	s.armed = true
	s.mu.Unlock()
}

func (s *stallReader) interrupt() {
	s.mu.Lock()
	s.interrupted = true
	s.conn.SetReadDeadline(time.Unix(1, 0))
	s.mu.Unlock()
}

var _ io.Reader = (*stallReader)(nil)
