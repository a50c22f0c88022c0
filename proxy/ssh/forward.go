package ssh

import (
	"io"
	"sync"

	"golang.org/x/crypto/ssh"

	"github.com/seed18fc72c3/vigil/capture"
)

// globalRequests answers the client's connection-level requests: keepalives, and remote port
// forwarding when the target allows it.
func (s *session) globalRequests(reqs <-chan *ssh.Request) {
	for req := range reqs {
		switch req.Type {
		case "keepalive@openssh.com":
			req.Reply(true, nil)
		case "tcpip-forward", "cancel-tcpip-forward":
			s.mu.Lock()
			up, conn := s.up, s.upConn
			s.mu.Unlock()
			if up == nil || conn == nil || !up.PortForward {
				s.audit(AuditEvent{Kind: AuditRefused, Detail: "request " + req.Type})
				req.Reply(false, nil)
				continue
			}
			ok, payload, _ := conn.SendRequest(req.Type, req.WantReply, req.Payload)
			req.Reply(ok, payload)
		default:
			req.Reply(false, nil)
		}
	}
}

// handleDirect serves "direct-tcpip" (ssh -L) when the target allows port forwarding.
func (s *session) handleDirect(nc ssh.NewChannel) {
	up, conn, err := s.ensureUpstream(SessionInfo{})
	if err != nil {
		nc.Reject(ssh.Prohibited, userLine(err))
		return
	}
	if !up.PortForward {
		s.audit(AuditEvent{Kind: AuditRefused, Detail: "channel direct-tcpip"})
		nc.Reject(ssh.Prohibited, "vigil: port forwarding is not permitted to "+up.Target)
		return
	}
	s.bridge(nc, func() (ssh.Channel, <-chan *ssh.Request, error) {
		return conn.OpenChannel("direct-tcpip", nc.ExtraData())
	}, false)
}

// upstreamChannels serves channels the target opens toward the user: remote forwards and agent
// requests, each only when the target's policy allows it.
func (s *session) upstreamChannels(chans <-chan ssh.NewChannel) {
	var wg sync.WaitGroup
	defer wg.Wait()
	for nc := range chans {
		s.mu.Lock()
		up := s.up
		s.mu.Unlock()
		allowed := (nc.ChannelType() == "forwarded-tcpip" && up.PortForward) ||
			(nc.ChannelType() == "auth-agent@openssh.com" && up.AgentForward)
		if !allowed {
			s.audit(AuditEvent{Kind: AuditRefused, Detail: "upstream channel " + nc.ChannelType()})
			nc.Reject(ssh.Prohibited, "not permitted by the gateway")
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.bridge(nc, func() (ssh.Channel, <-chan *ssh.Request, error) {
				return s.conn.OpenChannel(nc.ChannelType(), nc.ExtraData())
			}, true)
		}()
	}
}

// bridge accepts nc after opening its peer with open, and pumps both ways through the ring.
// fromTarget says which side opened: it decides which direction is recorded as output.
func (s *session) bridge(nc ssh.NewChannel, open func() (ssh.Channel, <-chan *ssh.Request, error), fromTarget bool) {
	peer, peerReqs, err := open()
	if err != nil {
		nc.Reject(ssh.ConnectionFailed, "vigil: could not open the channel")
		return
	}
	go ssh.DiscardRequests(peerReqs)
	ch, reqs, err := nc.Accept()
	if err != nil {
		peer.Close()
		return
	}
	go ssh.DiscardRequests(reqs)
	id := s.newChanID()
	s.mark(id, map[string]any{"kind": "channel", "type": nc.ChannelType()})
	user, target := ssh.Channel(ch), peer
	if fromTarget {
		user, target = peer, ch
	}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); s.copyThrough(target, user, capture.TypeOutput, id) }()
	go func() { defer wg.Done(); s.copyThrough(user, target, capture.TypeInput, id) }()
	wg.Wait()
	ch.Close()
	peer.Close()
}

// copyThrough copies src to dst through the ring, then half-closes dst.
func (s *session) copyThrough(src, dst ssh.Channel, t capture.Type, id uint16) {
	defer dst.CloseWrite()
	p := s.ring.NewProducer()
	for {
		ev, err := p.ReadEvent(src, t, id)
		if len(ev.Payload) > 0 {
			s.touch()
			if t == capture.TypeInput && !s.holdWhilePaused() {
				return
			}
			if _, werr := dst.Write(ev.Payload); werr != nil {
				return
			}
		}
		if err != nil {
			if err != io.EOF {
				s.fail(err)
			}
			return
		}
	}
}
