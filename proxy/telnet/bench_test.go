package telnet

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"testing"
)

// BenchmarkFeed measures the negotiator on target output: plain text, and text dense with IAC
// and CR NUL (the worst case for the byte-at-a-time parser).
func BenchmarkFeed(b *testing.B) {
	for _, size := range []int{64, 4 << 10, 32 << 10} {
		line := []byte("total 42 drwxr-xr-x 2 root root 4096 file.txt\r\n")
		plain := bytes.Repeat(line, size/len(line)+1)[:size]
		dense := bytes.Repeat([]byte{'a', cmdIAC, cmdIAC, '\r', 0, cmdIAC, 241}, size/7+1)[:size]
		for _, in := range []struct {
			name string
			p    []byte
		}{{"plain", plain}, {"dense", dense}} {
			b.Run(fmt.Sprintf("%s/%d", in.name, size), func(b *testing.B) {
				n := newNegotiator("xterm", 80, 24)
				dst := make([]byte, 0, size)
				b.ReportAllocs()
				b.SetBytes(int64(size))
				for b.Loop() {
					dst = n.feed(dst[:0], in.p)
				}
			})
		}
	}
}

// BenchmarkConnRead measures a logged-in Conn reading a target's output over loopback TCP,
// against a bare TCP read of the same bytes in the same run (the ratio is the client's cost).
func BenchmarkConnRead(b *testing.B) {
	const total = 64 << 20
	chunk := bytes.Repeat([]byte("0123456789abcdef ls -l output line\r\n"), 1000)
	serve := func(login bool) string {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { ln.Close() })
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				go func() {
					defer c.Close()
					if login {
						c.Write([]byte("login: "))
						expect(c, "\r")
						c.Write([]byte("Password: "))
						expect(c, "\r")
						c.Write([]byte("$ "))
					}
					for sent := 0; sent < total; sent += len(chunk) {
						if _, err := c.Write(chunk); err != nil {
							return
						}
					}
				}()
			}
		}()
		return ln.Addr().String()
	}
	tel, raw := serve(true), serve(false)
	buf := make([]byte, 32<<10)
	b.Run("telnet", func(b *testing.B) {
		b.SetBytes(total)
		for b.Loop() {
			cfg := DefaultConfig()
			cfg.Addr, cfg.Account, cfg.Password = tel, "u", []byte("p")
			c, err := Dial(context.Background(), cfg)
			if err != nil {
				b.Fatal(err)
			}
			n, _ := io.CopyBuffer(io.Discard, struct{ io.Reader }{c}, buf)
			c.Close()
			if n < total {
				b.Fatalf("read %d of %d", n, total)
			}
		}
	})
	b.Run("raw-tcp", func(b *testing.B) {
		b.SetBytes(total)
		for b.Loop() {
			c, err := net.Dial("tcp", raw)
			if err != nil {
				b.Fatal(err)
			}
			n, _ := io.CopyBuffer(io.Discard, struct{ io.Reader }{c}, buf)
			c.Close()
			if n < total {
				b.Fatalf("read %d of %d", n, total)
			}
		}
	})
}
