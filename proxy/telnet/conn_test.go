package telnet

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// fakeTarget serves one connection on 127.0.0.1 with fn and returns its address.
func fakeTarget(t *testing.T, fn func(c net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		fn(c)
	}()
	t.Cleanup(func() { ln.Close(); <-done })
	return ln.Addr().String()
}

// expect reads from c until it has seen want.
func expect(c net.Conn, want string) bool {
	var got []byte
	buf := make([]byte, 256)
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	for !bytes.Contains(got, []byte(want)) {
		n, err := c.Read(buf)
		got = append(got, buf[:n]...)
		if err != nil {
			return false
		}
	}
	return true
}

func testConfig(addr string) Config {
	cfg := DefaultConfig()
	cfg.Addr, cfg.Account, cfg.Password = addr, "admin", []byte("s3cret")
	cfg.LoginTimeout = 2 * time.Second
	cfg.Settle = 200 * time.Millisecond
	return cfg
}

func TestNeverPromptsTimesOut(t *testing.T) {
	addr := fakeTarget(t, func(c net.Conn) {
		c.Write([]byte("Welcome to nothing\r\n"))
		io.Copy(io.Discard, c)
	})
	_, err := Dial(context.Background(), testConfig(addr))
	if !errors.Is(err, ErrLoginTimeout) || !strings.Contains(err.Error(), "no login prompt") {
		t.Fatalf("err = %v, want ErrLoginTimeout naming the missing prompt", err)
	}
}

func TestNetworkGearLogin(t *testing.T) {
	// A switch-like dialog with negotiation mixed in and an IAC split across writes.
	addr := fakeTarget(t, func(c net.Conn) {
		c.Write([]byte{cmdIAC, cmdWILL, optEcho, cmdIAC})
		time.Sleep(10 * time.Millisecond)
		c.Write([]byte{cmdWILL, optSGA, cmdIAC, cmdDO, optNAWS})
		c.Write([]byte("\r\nUser Access Verification\r\n\r\nUsername: "))
		if !expect(c, "admin\r\x00") {
			return
		}
		c.Write([]byte("\r\nPassword: "))
		if !expect(c, "s3cret\r\x00") {
			return
		}
		c.Write([]byte("\r\nswitch1>"))
		if !expect(c, "show ver\r\x00") {
			return
		}
		c.Write([]byte("\r\nbinary:\x00\x01\xff\xff\xfe\r\nswitch1>"))
		// Closes mid-session.
	})
	c, err := Dial(context.Background(), testConfig(addr))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte("show ver\r"))
	got, err := io.ReadAll(c)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	want := "\r\nswitch1>\r\nbinary:\x00\x01\xff\xfe\r\nswitch1>"
	if string(got) != want {
		t.Fatalf("output %q, want %q", got, want)
	}
	if strings.Contains(string(got), "s3cret") {
		t.Fatal("password in output")
	}
}

func TestLoginFailures(t *testing.T) {
	tests := []struct {
		name   string
		answer string
		want   error
		says   string
	}{
		{"linux refusal", "\r\n\r\nLogin incorrect\r\nlogin: ", ErrLoginFailed, "login incorrect"},
		{"second login prompt", "\r\nlogin: ", ErrLoginFailed, "login again"},
		{"password again", "\r\nPassword: ", ErrLoginFailed, "password again"},
		{"silence", "", ErrLoginTimeout, "no answer"},
		{"hang up", "close", ErrClosed, "no answer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addr := fakeTarget(t, func(c net.Conn) {
				c.Write([]byte("host login: "))
				if !expect(c, "admin") {
					return
				}
				c.Write([]byte("Password: "))
				if !expect(c, "s3cret") {
					return
				}
				if tt.answer == "close" {
					return
				}
				c.Write([]byte(tt.answer))
				io.Copy(io.Discard, c)
			})
			_, err := Dial(context.Background(), testConfig(addr))
			if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.says) {
				t.Fatalf("err = %v, want %v saying %q", err, tt.want, tt.says)
			}
			if strings.Contains(err.Error(), "s3cret") {
				t.Fatal("the error names the password")
			}
		})
	}
}

func TestDialCanceled(t *testing.T) {
	addr := fakeTarget(t, func(c net.Conn) { io.Copy(io.Discard, c) })
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	cfg := testConfig(addr)
	cfg.LoginTimeout = time.Minute
	if _, err := Dial(ctx, cfg); err == nil {
		t.Fatal("Dial succeeded after cancel")
	}
}

// TestNegotiationFloodDuringLogin: a target that renegotiates without end before its prompt gets
// a bounded number of answers, and the login still works.
func TestNegotiationFloodDuringLogin(t *testing.T) {
	got := make(chan int, 1)
	addr := fakeTarget(t, func(c net.Conn) {
		var flood []byte
		for range 20000 {
			flood = append(flood, cmdIAC, cmdWILL, optEcho, cmdIAC, cmdWONT, optEcho, cmdIAC, cmdDO, 77)
		}
		// Read our answers while flooding, or both sides could block on full buffers.
		answers := make(chan int)
		go func() {
			var all []byte
			buf := make([]byte, 4096)
			c.SetReadDeadline(time.Now().Add(5 * time.Second))
			for !bytes.Contains(all, []byte("s3cret")) {
				n, err := c.Read(buf)
				all = append(all, buf[:n]...)
				if err != nil {
					break
				}
			}
			answers <- bytes.Count(all, []byte{cmdIAC})
		}()
		c.Write(flood)
		c.Write([]byte("login: "))
		time.Sleep(100 * time.Millisecond)
		c.Write([]byte("Password: "))
		n := <-answers
		got <- n
		c.Write([]byte("\r\n$ "))
		io.Copy(io.Discard, c)
	})
	c, err := Dial(context.Background(), testConfig(addr))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if n := <-got; n > maxAnswers+1 {
		t.Fatalf("the client sent %d IACs to a flooding target; bound is %d", n, maxAnswers)
	}
}

// TestOutputRightAfterLoginKept: a target that streams at once after the password (a long motd,
// a busy console) is logged in, and not one byte of what it sent is lost.
func TestOutputRightAfterLoginKept(t *testing.T) {
	var want []byte
	for i := range 5000 {
		want = append(want, []byte("console line "+strings.Repeat("x", i%70)+"\r\n")...)
	}
	addr := fakeTarget(t, func(c net.Conn) {
		c.Write([]byte("Username: "))
		expect(c, "admin")
		c.Write([]byte("Password: "))
		expect(c, "s3cret")
		c.Write(want)
	})
	c, err := Dial(context.Background(), testConfig(addr))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	got, err := io.ReadAll(c)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("got %d bytes, want %d (equal: %v)", len(got), len(want), bytes.Equal(got, want))
	}
}
