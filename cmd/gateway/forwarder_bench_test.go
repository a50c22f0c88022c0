package gateway_test

import (
	"bytes"
	"errors"
	"io"
	"net"
	"sync"
	"testing"

	"golang.org/x/crypto/ssh"
)

// bareForwarder is the baseline the gateway is held to: an SSH man in the middle written with
// x/crypto and nothing else. It accepts the client, dials the target, and relays session channels
// with io.Copy and their requests as they come; no ring, no recording, no prompt tracking. The
// gateway's target is 85% of its throughput, so whatever it costs is the price of SSH in Go, and
// the rest is Vigil's.
type bareForwarder struct {
	Addr string
	Port int
}

func startBareForwarder(tb testing.TB, d *benchSSHD) *bareForwarder {
	tb.Helper()
	cfg := &ssh.ServerConfig{
		PublicKeyCallback: func(_ ssh.ConnMetadata, key ssh.PublicKey) (*ssh.Permissions, error) {
			if !bytes.Equal(key.Marshal(), d.Key.PublicKey().Marshal()) {
				return nil, errors.New("unknown key")
			}
			return nil, nil
		},
	}
	cfg.AddHostKey(newHostSigner(tb))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return // the listener was closed by Cleanup
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				forwardConn(c, cfg, d)
			}()
		}
	}()
	// Connections end when their clients do; the benchmarks close every client before returning.
	tb.Cleanup(func() { ln.Close(); wg.Wait() })
	return &bareForwarder{Addr: ln.Addr().String(), Port: ln.Addr().(*net.TCPAddr).Port}
}

func forwardConn(c net.Conn, cfg *ssh.ServerConfig, d *benchSSHD) {
	defer c.Close()
	conn, chans, reqs, err := ssh.NewServerConn(c, cfg)
	if err != nil {
		return
	}
	defer conn.Close()
	go ssh.DiscardRequests(reqs)
	up, err := ssh.Dial("tcp", d.Addr, d.upstreamConfig())
	if err != nil {
		return
	}
	defer up.Close()
	var wg sync.WaitGroup
	for nc := range chans {
		if nc.ChannelType() != "session" {
			nc.Reject(ssh.UnknownChannelType, "session channels only")
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			forwardSession(nc, up)
		}()
	}
	up.Close()
	wg.Wait()
}

// forwardSession relays one session channel: data both ways, stderr down, requests both ways.
func forwardSession(nc ssh.NewChannel, up *ssh.Client) {
	upCh, upReqs, err := up.OpenChannel("session", nil)
	if err != nil {
		nc.Reject(ssh.ConnectionFailed, err.Error())
		return
	}
	defer upCh.Close()
	ch, reqs, err := nc.Accept()
	if err != nil {
		return
	}
	defer ch.Close()
	go relayRequests(reqs, upCh)
	upReqsDone := make(chan struct{})
	go func() {
		defer close(upReqsDone)
		relayRequests(upReqs, ch)
	}()
	var out sync.WaitGroup
	out.Add(2)
	go func() {
		defer out.Done()
		io.Copy(ch, upCh)
		ch.CloseWrite()
	}()
	go func() {
		defer out.Done()
		io.Copy(ch.Stderr(), upCh.Stderr())
	}()
	go func() {
		io.Copy(upCh, ch)
		upCh.CloseWrite()
	}()
	out.Wait()
	<-upReqsDone // the target closed the channel after its exit status: pass both on, then close
}

func relayRequests(reqs <-chan *ssh.Request, to ssh.Channel) {
	for req := range reqs {
		ok, err := to.SendRequest(req.Type, req.WantReply, req.Payload)
		if req.WantReply {
			req.Reply(ok && err == nil, nil)
		}
	}
}
