package telnet

import "bytes"

// Telnet commands (RFC 854) and the options we speak (RFC 857, 858, 1073, 1091).
const (
	cmdSE   = 240
	cmdSB   = 250
	cmdWILL = 251
	cmdWONT = 252
	cmdDO   = 253
	cmdDONT = 254
	cmdIAC  = 255

	optEcho  = 1
	optSGA   = 3
	optTTYPE = 24
	optNAWS  = 31

	ttypeIS   = 0
	ttypeSEND = 1
)

// Bounds against a hostile or broken target.
const (
	// maxSubneg caps a subnegotiation's body; the rest of an overlong one is dropped. Ours are a
	// few bytes (TTYPE SEND); 512 leaves room for any option a server could send us.
	maxSubneg = 512
	// maxAnswers is how many negotiation replies one connection gets from us. A well-behaved server
	// needs under ten; past this one that keeps renegotiating is ignored, not answered for ever.
	maxAnswers = 200
)

// parser states.
const (
	stData  = iota
	stCR    // data CR seen: a NUL after it is padding (RFC 854 "CR NUL")
	stIAC   // IAC seen in data
	stOpt   // WILL/WONT/DO/DONT seen, option byte next
	stSB    // in a subnegotiation body
	stSBIAC // IAC seen in a subnegotiation body
)

// negotiator strips the telnet protocol from the target's bytes and answers option requests.
// It is not safe for concurrent use; Conn serialises it behind its read.
type negotiator struct {
	term       string
	cols, rows uint16

	state int
	verb  byte
	sb    []byte // subnegotiation body, at most maxSubneg bytes
	sbCut bool   // the body overflowed: it is ignored when it ends

	answers int
	// Options in effect. Only state changes are answered (RFC 1143's rule, simplified), which
	// is what ends an honest negotiation loop; maxAnswers ends a dishonest one.
	remote [256]bool // the server's side: it WILLs (ECHO, SGA)
	local  [256]bool // our side: we WILL (NAWS, TTYPE)

	out []byte // replies to send to the target
}

func newNegotiator(term string, cols, rows uint16) *negotiator {
	return &negotiator{term: term, cols: cols, rows: rows, sb: make([]byte, 0, 64)}
}

// accepts says which options we agree to: the server's ECHO and SGA, our NAWS, TTYPE and SGA.
func acceptsRemote(opt byte) bool { return opt == optEcho || opt == optSGA }
func acceptsLocal(opt byte) bool  { return opt == optNAWS || opt == optTTYPE || opt == optSGA }

// feed parses in, appends the data bytes to dst and returns it; replies for the target collect
// in n.out. It keeps its state across calls, so a command split across reads is parsed alike.
func (n *negotiator) feed(dst, in []byte) []byte {
	nextIAC := -1 // index in "in" of the next IAC at or after i, or len(in); -1: not looked yet
	for i := 0; i < len(in); {
		if n.state == stData {
			// Fast path: copy the run up to the next IAC or CR in one append. Terminal output
			// is mostly such runs; the byte loop below handles only the protocol.
			if nextIAC < i {
				nextIAC = bytes.IndexByte(in[i:], cmdIAC)
				if nextIAC < 0 {
					nextIAC = len(in)
				} else {
					nextIAC += i
				}
			}
			j := nextIAC
			if k := bytes.IndexByte(in[i:j], '\r'); k >= 0 {
				j = i + k
			}
			dst = append(dst, in[i:j]...)
			i = j
			if i == len(in) {
				break
			}
		}
		b := in[i]
		i++
		switch n.state {
		case stData, stCR:
			cr := n.state == stCR
			n.state = stData
			switch {
			case b == cmdIAC:
				n.state = stIAC
			case cr && b == 0:
				// CR NUL is a bare CR on the wire; the NUL is not data.
			default:
				dst = append(dst, b)
				if b == '\r' {
					n.state = stCR
				}
			}
		case stIAC:
			switch b {
			case cmdIAC:
				dst = append(dst, cmdIAC)
				n.state = stData
			case cmdWILL, cmdWONT, cmdDO, cmdDONT:
				n.verb, n.state = b, stOpt
			case cmdSB:
				n.sb, n.sbCut, n.state = n.sb[:0], false, stSB
			default:
				// NOP, GA, DM, AYT, BRK, a stray SE...: nothing for a terminal stream.
				n.state = stData
			}
		case stOpt:
			n.negotiate(n.verb, b)
			n.state = stData
		case stSB:
			if b == cmdIAC {
				n.state = stSBIAC
			} else {
				n.sbByte(b)
			}
		case stSBIAC:
			switch b {
			case cmdSE:
				n.subnegotiation()
				n.state = stData
			case cmdIAC:
				n.sbByte(cmdIAC)
				n.state = stSB
			default:
				// RFC 855 leaves IAC <cmd> inside SB undefined; keep parsing the body.
				n.state = stSB
			}
		}
	}
	return dst
}

func (n *negotiator) sbByte(b byte) {
	if len(n.sb) >= maxSubneg {
		n.sbCut = true
		return
	}
	n.sb = append(n.sb, b)
}

// answer queues a reply unless this connection has used up its answers.
func (n *negotiator) answer(p ...byte) bool {
	if n.answers >= maxAnswers {
		return false
	}
	n.answers++
	n.out = append(n.out, p...)
	return true
}

func (n *negotiator) negotiate(verb, opt byte) {
	switch verb {
	case cmdWILL:
		switch {
		case n.remote[opt]:
		case acceptsRemote(opt):
			if n.answer(cmdIAC, cmdDO, opt) {
				n.remote[opt] = true
			}
		default:
			n.answer(cmdIAC, cmdDONT, opt)
		}
	case cmdWONT:
		if n.remote[opt] {
			n.remote[opt] = false
			n.answer(cmdIAC, cmdDONT, opt)
		}
	case cmdDO:
		switch {
		case n.local[opt]:
		case acceptsLocal(opt):
			if n.answer(cmdIAC, cmdWILL, opt) {
				n.local[opt] = true
				if opt == optNAWS {
					n.naws()
				}
			}
		default:
			n.answer(cmdIAC, cmdWONT, opt)
		}
	case cmdDONT:
		if n.local[opt] {
			n.local[opt] = false
			n.answer(cmdIAC, cmdWONT, opt)
		}
	}
}

func (n *negotiator) subnegotiation() {
	if n.sbCut || len(n.sb) < 2 {
		return
	}
	if n.sb[0] == optTTYPE && n.sb[1] == ttypeSEND && n.local[optTTYPE] {
		reply := append([]byte{cmdIAC, cmdSB, optTTYPE, ttypeIS}, n.term...)
		n.answer(append(reply, cmdIAC, cmdSE)...)
	}
}

// resize records the window size and, once the server agreed to NAWS, queues it.
func (n *negotiator) resize(cols, rows uint16) {
	n.cols, n.rows = cols, rows
	if n.local[optNAWS] {
		n.naws()
	}
}

// naws queues the window size (RFC 1073); a 255 byte in it is doubled like any IAC. Window
// sizes are not rationed by maxAnswers: they are the user's doing, not the server's.
func (n *negotiator) naws() {
	n.out = append(n.out, cmdIAC, cmdSB, optNAWS)
	for _, b := range []byte{byte(n.cols >> 8), byte(n.cols), byte(n.rows >> 8), byte(n.rows)} {
		n.out = append(n.out, b)
		if b == cmdIAC {
			n.out = append(n.out, cmdIAC)
		}
	}
	n.out = append(n.out, cmdIAC, cmdSE)
}

// escape appends p to dst as telnet data: IAC doubled, and a CR not followed by LF sent as CR NUL
// (RFC 854), so the target's line discipline sees one end of line per Enter.
func escape(dst, p []byte) []byte {
	for i, b := range p {
		switch {
		case b == cmdIAC:
			dst = append(dst, cmdIAC, cmdIAC)
		case b == '\r' && (i+1 >= len(p) || p[i+1] != '\n'):
			dst = append(dst, '\r', 0)
		default:
			dst = append(dst, b)
		}
	}
	return dst
}
