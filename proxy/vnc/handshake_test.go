package vnc

import (
	"bytes"
	"context"
	"crypto/des"
	"encoding/binary"
	"errors"
	"image"
	"io"
	"math/bits"
	"net"
	"os"
	"strings"
	"testing"
	"time"
)

// fakeServer runs script on each connection to a listener on 127.0.0.1; the listener and
// connections close when the test ends.
func fakeServer(t *testing.T, script func(c net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			script(c)
			c.Close()
		}
	}()
	t.Cleanup(func() { ln.Close(); <-done })
	return ln.Addr().String()
}

func serverInit(w, h int, name string) []byte {
	b := make([]byte, 24+len(name))
	binary.BigEndian.PutUint16(b[0:], uint16(w))
	binary.BigEndian.PutUint16(b[2:], uint16(h))
	rgbaFormat.marshal(b[4:20])
	binary.BigEndian.PutUint32(b[20:], uint32(len(name)))
	copy(b[24:], name)
	return b
}

func reason(s string) []byte {
	return append(binary.BigEndian.AppendUint32(nil, uint32(len(s))), s...)
}

// checkAuth answers a VNC auth with an independent computation of the expected response.
func checkAuth(c net.Conn, password string) bool {
	challenge := []byte("0123456789abcdef")
	c.Write(challenge)
	resp := make([]byte, 16)
	if _, err := io.ReadFull(c, resp); err != nil {
		return false
	}
	key := make([]byte, 8)
	copy(key, password)
	for i := range key {
		key[i] = bits.Reverse8(key[i])
	}
	block, _ := des.NewCipher(key)
	want := make([]byte, 16)
	block.Encrypt(want[:8], challenge[:8])
	block.Encrypt(want[8:], challenge[8:])
	return bytes.Equal(resp, want)
}

func TestHandshakeVersions(t *testing.T) {
	for _, tc := range []struct {
		name, greeting, reply, version string
		password                       string
		script                         func(c net.Conn) // after the version exchange
	}{
		{"3.3 none", "RFB 003.003\n", "RFB 003.003\n", "3.3", "", func(c net.Conn) {
			c.Write([]byte{0, 0, 0, secNone})
		}},
		{"3.5 treated as 3.3, vnc auth", "RFB 003.005\n", "RFB 003.003\n", "3.3", "secret", func(c net.Conn) {
			c.Write([]byte{0, 0, 0, secVNCAuth})
			if checkAuth(c, "secret") {
				c.Write([]byte{0, 0, 0, 0})
			}
		}},
		{"3.7 none has no security result", "RFB 003.007\n", "RFB 003.007\n", "3.7", "", func(c net.Conn) {
			c.Write([]byte{2, 5, secNone})
			c.Read(make([]byte, 1))
		}},
		{"3.8 vnc auth", "RFB 003.008\n", "RFB 003.008\n", "3.8", "longerthan8bytes", func(c net.Conn) {
			c.Write([]byte{2, secNone, secVNCAuth})
			var b [1]byte
			io.ReadFull(c, b[:])
			if b[0] == secVNCAuth && checkAuth(c, "longerth") {
				c.Write([]byte{0, 0, 0, 0})
			}
		}},
		{"4.1 speaks 3.8", "RFB 004.001\n", "RFB 003.008\n", "3.8", "", func(c net.Conn) {
			c.Write([]byte{1, secNone})
			c.Read(make([]byte, 1))
			c.Write([]byte{0, 0, 0, 0})
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			gotReply := make(chan string, 1)
			addr := fakeServer(t, func(c net.Conn) {
				c.Write([]byte(tc.greeting))
				reply := make([]byte, 12)
				io.ReadFull(c, reply)
				gotReply <- string(reply)
				tc.script(c)
				var shared [1]byte
				io.ReadFull(c, shared[:])
				c.Write(serverInit(640, 480, "desk\x1b[2Jtop"))
				io.Copy(io.Discard, c)
			})
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			c, err := Dial(ctx, addr, []byte(tc.password), Options{})
			if err != nil {
				t.Fatalf("dial: %v", err)
			}
			defer c.Close()
			if r := <-gotReply; r != tc.reply {
				t.Errorf("client replied %q, want %q", r, tc.reply)
			}
			in := c.Init()
			if in.Version != tc.version || in.Width != 640 || in.Height != 480 || in.Name != "desk[2Jtop" {
				t.Errorf("init %+v", in)
			}
		})
	}
}

func TestHandshakeFailures(t *testing.T) {
	for _, tc := range []struct {
		name     string
		password string
		script   func(c net.Conn)
		want     error
		contains string
	}{
		{"not rfb", "", func(c net.Conn) { c.Write([]byte("SSH-2.0-x\r\n\n")) }, ErrVersion, ""},
		{"version 2", "", func(c net.Conn) { c.Write([]byte("RFB 002.000\n")) }, ErrVersion, ""},
		{"refused", "", func(c net.Conn) {
			c.Write([]byte("RFB 003.008\n"))
			c.Read(make([]byte, 12))
			c.Write(append([]byte{0}, reason("too many attempts")...))
		}, ErrRefused, "too many attempts"},
		{"refused 3.3", "", func(c net.Conn) {
			c.Write([]byte("RFB 003.003\n"))
			c.Read(make([]byte, 12))
			c.Write(append([]byte{0, 0, 0, 0}, reason("go away")...))
		}, ErrRefused, "go away"},
		{"auth failed with reason", "pw", func(c net.Conn) {
			c.Write([]byte("RFB 003.008\n"))
			c.Read(make([]byte, 12))
			c.Write([]byte{1, secVNCAuth})
			c.Read(make([]byte, 1))
			checkAuth(c, "pw")
			c.Write(append([]byte{0, 0, 0, 1}, reason("password check failed!")...))
		}, ErrAuthFailed, "vnc: authentication failed: password check failed!"},
		{"password needed", "", func(c net.Conn) {
			c.Write([]byte("RFB 003.008\n"))
			c.Read(make([]byte, 12))
			c.Write([]byte{1, secVNCAuth})
		}, ErrNoSecurityType, "needs a password"},
		{"only unknown types", "pw", func(c net.Conn) {
			c.Write([]byte("RFB 003.008\n"))
			c.Read(make([]byte, 12))
			c.Write([]byte{2, 19, 30})
		}, ErrNoSecurityType, ""},
		{"huge reason", "", func(c net.Conn) {
			c.Write([]byte("RFB 003.008\n"))
			c.Read(make([]byte, 12))
			c.Write([]byte{0, 0xff, 0xff, 0xff, 0xff})
		}, ErrTooLarge, ""},
		{"huge desktop", "", func(c net.Conn) {
			c.Write([]byte("RFB 003.008\n"))
			c.Read(make([]byte, 12))
			c.Write([]byte{1, secNone})
			c.Read(make([]byte, 1))
			c.Write([]byte{0, 0, 0, 0})
			c.Read(make([]byte, 1))
			c.Write(serverInit(9000, 100, ""))
		}, ErrTooLarge, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addr := fakeServer(t, tc.script)
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_, err := Dial(ctx, addr, []byte(tc.password), Options{})
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.contains) {
				t.Fatalf("got %v, want %v containing %q", err, tc.want, tc.contains)
			}
		})
	}
}

// TestHandshakeServerCloses: a server that hangs up at any point of the handshake gives an
// error, not a hang or a panic.
func TestHandshakeServerCloses(t *testing.T) {
	full := [][]byte{[]byte("RFB 003.008\n"), {1, secVNCAuth}, []byte("0123456789abcdef"), {0, 0, 0, 0},
		serverInit(100, 100, "name")}
	for cut := 0; cut < len(full); cut++ {
		for _, partial := range []bool{false, true} {
			addr := fakeServer(t, func(c net.Conn) {
				for i := 0; i < cut; i++ {
					c.Write(full[i])
					c.Read(make([]byte, 64))
				}
				if partial {
					c.Write(full[cut][:len(full[cut])/2])
				}
			})
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			_, err := Dial(ctx, addr, []byte("pw"), Options{})
			ctxErr := ctx.Err()
			cancel()
			if err == nil || ctxErr != nil {
				t.Fatalf("cut before message %d (partial %v): err %v, ctx %v", cut, partial, err, ctxErr)
			}
		}
	}
}

func TestHandshakeStall(t *testing.T) {
	release := make(chan struct{})
	addr := fakeServer(t, func(c net.Conn) {
		c.Write([]byte("RFB 003.0"))
		<-release
	})
	defer close(release)
	_, err := Dial(context.Background(), addr, nil, Options{StallTimeout: 100 * time.Millisecond})
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("got %v, want a deadline error", err)
	}
}

// TestSession: after the handshake the client sends its pixel format, encodings and a full
// update request; Next decodes an update and asks for the next incrementally; input events
// have the RFB layout; cancelling ctx ends a waiting Next.
func TestSession(t *testing.T) {
	got := make(chan []byte, 1)
	addr := fakeServer(t, func(c net.Conn) {
		c.Write([]byte("RFB 003.008\n"))
		c.Read(make([]byte, 12))
		c.Write([]byte{1, secNone})
		c.Read(make([]byte, 1))
		c.Write([]byte{0, 0, 0, 0})
		c.Read(make([]byte, 1))
		c.Write(serverInit(32, 16, ""))
		setup := make([]byte, 20+4+4*len(DefaultEncodings)+10)
		io.ReadFull(c, setup)
		var b bytes.Buffer
		updateHeader(&b, 1)
		img := testImage("noise", 32, 16, 1)
		rectHeader(&b, img.Rect, EncodingRaw)
		encodeRaw(&b, img, img.Rect)
		c.Write(b.Bytes())
		rest := make([]byte, 10+8+6)
		io.ReadFull(c, rest)
		got <- append(setup, rest...)
		io.Copy(io.Discard, c)
	})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := Dial(ctx, addr, nil, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	u, err := c.Next(ctx)
	if err != nil || len(u.Rects) != 1 {
		t.Fatalf("next: %v %v", u, err)
	}
	if n := countDiff(c.Framebuffer(), testImage("noise", 32, 16, 1)); n != 0 {
		t.Fatalf("%d pixels differ", n)
	}
	c.Key(true, 0xff0d)
	c.Pointer(40, -3, 5)
	msgs := <-got
	n := len(DefaultEncodings)
	want := []byte{0, 0, 0, 0, 32, 24, 0, 1, 0, 255, 0, 255, 0, 255, 0, 8, 16, 0, 0, 0, 2, 0, 0, byte(n)}
	if !bytes.Equal(msgs[:24], want) {
		t.Errorf("pixel format and encodings header % x, want % x", msgs[:24], want)
	}
	if e := Encoding(int32(binary.BigEndian.Uint32(msgs[24:]))); e != EncodingZRLE {
		t.Errorf("first encoding %d", e)
	}
	tail := msgs[24+4*n:]
	wantTail := []byte{3, 0, 0, 0, 0, 0, 0, 32, 0, 16, // full request
		3, 1, 0, 0, 0, 0, 0, 32, 0, 16, // incremental request after the update
		4, 1, 0, 0, 0, 0, 0xff, 0x0d, // key down Return
		5, 5, 0, 40, 0, 0} // pointer, clamped
	if !bytes.Equal(tail, wantTail) {
		t.Errorf("client messages\n% x, want\n% x", tail, wantTail)
	}
	wctx, wcancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer wcancel()
	if _, err := c.Next(wctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("waiting next: %v, want the context's error", err)
	}
}

// handshakeNone is a 3.8 server's side of a handshake without authentication, 8x8 desktop.
func handshakeNone(c net.Conn) {
	c.Write([]byte("RFB 003.008\n"))
	c.Read(make([]byte, 12))
	c.Write([]byte{1, secNone})
	c.Read(make([]byte, 1))
	c.Write([]byte{0, 0, 0, 0})
	c.Read(make([]byte, 1))
	c.Write(serverInit(8, 8, ""))
}

func TestHandshakeContextEnds(t *testing.T) {
	release := make(chan struct{})
	addr := fakeServer(t, func(c net.Conn) {
		c.Write([]byte("RFB 003.008\n"))
		<-release
	})
	defer close(release)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	// The stall timeout is far longer than the context: the context must win.
	_, err := Dial(ctx, addr, nil, Options{StallTimeout: time.Hour})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v, want the context's deadline", err)
	}
}

func TestNextStallsMidMessage(t *testing.T) {
	release := make(chan struct{})
	addr := fakeServer(t, func(c net.Conn) {
		handshakeNone(c)
		var b bytes.Buffer
		updateHeader(&b, 1)
		rectHeader(&b, image.Rect(0, 0, 8, 8), EncodingRaw)
		b.Write(make([]byte, 100)) // of 256 pixel bytes
		c.Write(b.Bytes())
		<-release
	})
	defer close(release)
	c, err := Dial(context.Background(), addr, nil, Options{StallTimeout: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, err = c.Next(context.Background())
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("got %v, want a stall timeout", err)
	}
	if _, again := c.Next(context.Background()); again == nil {
		t.Fatal("Next after a failure succeeded")
	}
}

func TestNextIdleServerIsNotAStall(t *testing.T) {
	release, more := make(chan struct{}), make(chan struct{})
	addr := fakeServer(t, func(c net.Conn) {
		handshakeNone(c)
		<-more
		c.Write([]byte{msgBell})
		<-release
	})
	defer close(release)
	c, err := Dial(context.Background(), addr, nil, Options{StallTimeout: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// Idle for several stall timeouts: only the context ends the wait.
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if _, err := c.Next(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v, want the context's deadline", err)
	}
	// An idle timeout leaves the stream in step: the client keeps working.
	if err := c.Pointer(1, 1, 0); err != nil {
		t.Fatal(err)
	}
	close(more)
	u, err := c.Next(context.Background())
	if err != nil || !u.Bell {
		t.Fatalf("after an idle timeout: %+v, %v", u, err)
	}
}
