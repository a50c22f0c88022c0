package telnet

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/seed18fc72c3/vigil/fixtures/testenv"
)

// readUntil reads c until want appears or the time runs out; it returns everything read.
func readUntil(t *testing.T, c *Conn, want string, d time.Duration) string {
	t.Helper()
	var got bytes.Buffer
	done := make(chan error, 1)
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := c.Read(buf)
			got.Write(buf[:n]) // only this goroutine writes until done
			if strings.Contains(got.String(), want) {
				done <- nil
				return
			}
			if err != nil {
				done <- err
				return
			}
		}
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("read until %q: %v; got %q", want, err, got.String())
		}
	case <-time.After(d):
		c.Close()
		<-done
		t.Fatalf("no %q within %v; got %q", want, d, got.String())
	}
	return got.String()
}

func dialReal(t *testing.T, td *testenv.Telnetd, password string) (*Conn, error) {
	cfg := DefaultConfig()
	cfg.Addr, cfg.Account, cfg.Password = td.Addr, td.User, []byte(password)
	cfg.Cols, cfg.Rows = 132, 43
	return Dial(context.Background(), cfg)
}

func TestRealTelnetd(t *testing.T) {
	td := testenv.StartTelnetd(t)

	t.Run("login, command, window size, resize, exit", func(t *testing.T) {
		c, err := dialReal(t, td, td.Password)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if _, err := c.Write([]byte("echo vigil-$((6*7)); stty size\r")); err != nil {
			t.Fatal(err)
		}
		out := readUntil(t, c, "43 132", 10*time.Second)
		if !strings.Contains(out, "vigil-42") {
			t.Fatalf("command output missing: %q", out)
		}
		if strings.Contains(out, td.Password) {
			t.Fatal("the password appeared in the session's output")
		}
		if err := c.Resize(100, 30); err != nil {
			t.Fatal(err)
		}
		c.Write([]byte("stty size; echo $TERM\r"))
		if out := readUntil(t, c, "xterm-256color", 10*time.Second); !strings.Contains(out, "30 100") {
			t.Fatalf("the new size did not reach the target: %q", out)
		}
		c.Write([]byte("exit\r"))
		buf := make([]byte, 4096)
		deadline := time.Now().Add(10 * time.Second)
		for time.Now().Before(deadline) {
			if _, err := c.Read(buf); err != nil {
				if !errors.Is(err, io.EOF) {
					t.Fatalf("after exit: %v, want io.EOF", err)
				}
				return
			}
		}
		t.Fatal("the connection did not end after exit")
	})

	t.Run("target closes mid-session", func(t *testing.T) {
		c, err := dialReal(t, td, td.Password)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		// The shell dies without a goodbye: telnetd hangs up on us.
		c.Write([]byte("echo dying; kill -9 $$\r"))
		done := make(chan error, 1)
		go func() {
			_, err := io.ReadAll(c)
			done <- err
		}()
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("read after the target hung up: %v, want a clean io.EOF", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("Read did not end after the target hung up")
		}
	})

	t.Run("wrong password", func(t *testing.T) {
		_, err := dialReal(t, td, "not-"+td.Password)
		if !errors.Is(err, ErrLoginFailed) {
			t.Fatalf("err = %v, want ErrLoginFailed", err)
		}
		if strings.Contains(err.Error(), td.Password) {
			t.Fatal("the error names the password")
		}
		t.Log(err)
	})
}
