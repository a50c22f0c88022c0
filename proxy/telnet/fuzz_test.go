package telnet

import (
	"bytes"
	"testing"
)

// FuzzNegotiator builds a wire stream from the fuzzer's bytes: runs of data (escaped as a server
// would: IAC doubled, CR sent as CR NUL) interleaved with commands, options and subnegotiations,
// fed in pieces of a fuzzed size. The output must be exactly the data, in any split; memory and
// replies stay bounded.
func FuzzNegotiator(f *testing.F) {
	f.Add([]byte("login: \xff\xfb\x01x"), uint8(3))
	f.Add([]byte{0xff, 0xfa, 24, 1, 0xff, 0xf0, '\r', 0, 'a'}, uint8(1))
	f.Add(bytes.Repeat([]byte{0xff, 0xfd, 31}, 50), uint8(7))
	f.Fuzz(func(t *testing.T, prog []byte, chunk uint8) {
		var wire, want []byte
		for i := 0; i < len(prog); i++ {
			op := prog[i]
			switch {
			case op < 0xf0 || i+1 >= len(prog):
				// data byte
				want = append(want, op)
				switch op {
				case cmdIAC:
					wire = append(wire, cmdIAC, cmdIAC)
				case '\r':
					wire = append(wire, '\r', 0)
				default:
					wire = append(wire, op)
				}
			case op < 0xf8:
				// negotiation: next byte is the option
				i++
				wire = append(wire, cmdIAC, cmdWILL+op%4, prog[i])
			case op < 0xfc:
				// a bare command
				wire = append(wire, cmdIAC, 241+op%8)
			default:
				// a subnegotiation with a body of the next byte's length, any bytes escaped
				i++
				l := int(prog[i])
				wire = append(wire, cmdIAC, cmdSB)
				for k := 0; k < l && i+1 < len(prog); k++ {
					i++
					wire = append(wire, prog[i])
					if prog[i] == cmdIAC {
						wire = append(wire, cmdIAC)
					}
				}
				wire = append(wire, cmdIAC, cmdSE)
			}
		}
		step := int(chunk)%64 + 1
		n := newNegotiator("xterm-256color", 80, 24)
		var got []byte
		for off := 0; off < len(wire); off += step {
			got = n.feed(got, wire[off:min(off+step, len(wire))])
			if len(n.sb) > maxSubneg {
				t.Fatalf("subnegotiation buffer %d > %d", len(n.sb), maxSubneg)
			}
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("output %q, want %q (wire %v)", got, want, wire)
		}
		if n.answers > maxAnswers || len(n.out) > maxAnswers*(maxSubneg+16) {
			t.Fatalf("replies not bounded: %d answers, %d bytes", n.answers, len(n.out))
		}

		// Raw garbage: no panic, nothing bounded broken.
		g := newNegotiator("xterm", 80, 24)
		data := g.feed(nil, prog)
		if len(data) > len(prog) || len(g.sb) > maxSubneg || g.answers > maxAnswers {
			t.Fatalf("garbage: %d data bytes from %d, sb %d, answers %d", len(data), len(prog), len(g.sb), g.answers)
		}
	})
}
