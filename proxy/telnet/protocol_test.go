package telnet

import (
	"bytes"
	"testing"
)

func feedAll(n *negotiator, in []byte) []byte { return n.feed(nil, in) }

func TestNegotiation(t *testing.T) {
	tests := []struct {
		name       string
		in         []byte
		data       []byte
		reply      []byte
		wantNoMore bool
	}{
		{"plain data", []byte("hello\r\n"), []byte("hello\r\n"), nil, false},
		{"escaped IAC", []byte{'a', cmdIAC, cmdIAC, 'b'}, []byte{'a', 255, 'b'}, nil, false},
		{"CR NUL is CR", []byte{'a', '\r', 0, 'b'}, []byte("a\rb"), nil, false},
		{"WILL ECHO accepted", []byte{cmdIAC, cmdWILL, optEcho}, nil, []byte{cmdIAC, cmdDO, optEcho}, false},
		{"WILL SGA accepted", []byte{cmdIAC, cmdWILL, optSGA}, nil, []byte{cmdIAC, cmdDO, optSGA}, false},
		{"WILL other refused", []byte{cmdIAC, cmdWILL, 39}, nil, []byte{cmdIAC, cmdDONT, 39}, false},
		{"DO TTYPE accepted", []byte{cmdIAC, cmdDO, optTTYPE}, nil, []byte{cmdIAC, cmdWILL, optTTYPE}, false},
		{"DO NAWS accepted and size sent", []byte{cmdIAC, cmdDO, optNAWS}, nil,
			[]byte{cmdIAC, cmdWILL, optNAWS, cmdIAC, cmdSB, optNAWS, 0, 80, 0, 24, cmdIAC, cmdSE}, false},
		{"DO ECHO refused", []byte{cmdIAC, cmdDO, optEcho}, nil, []byte{cmdIAC, cmdWONT, optEcho}, false},
		{"DO LINEMODE refused", []byte{cmdIAC, cmdDO, 34}, nil, []byte{cmdIAC, cmdWONT, 34}, false},
		{"WONT unknown not answered", []byte{cmdIAC, cmdWONT, 39}, nil, nil, false},
		{"repeated WILL answered once", []byte{cmdIAC, cmdWILL, optEcho, cmdIAC, cmdWILL, optEcho}, nil,
			[]byte{cmdIAC, cmdDO, optEcho}, false},
		{"WILL then WONT", []byte{cmdIAC, cmdWILL, optEcho, cmdIAC, cmdWONT, optEcho}, nil,
			[]byte{cmdIAC, cmdDO, optEcho, cmdIAC, cmdDONT, optEcho}, false},
		{"TTYPE SEND", []byte{cmdIAC, cmdDO, optTTYPE, cmdIAC, cmdSB, optTTYPE, ttypeSEND, cmdIAC, cmdSE}, nil,
			append(append([]byte{cmdIAC, cmdWILL, optTTYPE, cmdIAC, cmdSB, optTTYPE, ttypeIS}, "xterm-256color"...), cmdIAC, cmdSE), false},
		{"TTYPE SEND without agreement ignored", []byte{cmdIAC, cmdSB, optTTYPE, ttypeSEND, cmdIAC, cmdSE, 'x'}, []byte("x"), nil, false},
		{"NOP and GA dropped", []byte{'a', cmdIAC, 241, 'b', cmdIAC, 249}, []byte("ab"), nil, false},
		{"unknown subnegotiation skipped", []byte{'a', cmdIAC, cmdSB, 39, 1, 2, cmdIAC, cmdIAC, 3, cmdIAC, cmdSE, 'b'}, []byte("ab"), nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := newNegotiator("xterm-256color", 80, 24)
			got := feedAll(n, tt.in)
			if !bytes.Equal(got, tt.data) {
				t.Errorf("data = %q, want %q", got, tt.data)
			}
			if !bytes.Equal(n.out, tt.reply) {
				t.Errorf("reply = %v, want %v", n.out, tt.reply)
			}
		})
	}
}

// TestSplitEverywhere feeds a stream full of protocol in two pieces at every split point: the data
// and the replies must not depend on where the reads fell.
func TestSplitEverywhere(t *testing.T) {
	in := []byte{'l', 'o', cmdIAC, cmdIAC, 'g', '\r', 0, cmdIAC, cmdDO, optTTYPE, cmdIAC, cmdWILL, optEcho,
		'i', cmdIAC, cmdSB, optTTYPE, ttypeSEND, cmdIAC, cmdSE, 'n', cmdIAC, cmdDO, optNAWS,
		cmdIAC, cmdSB, 39, cmdIAC, cmdIAC, 7, cmdIAC, cmdSE, ':', '\r', '\n'}
	ref := newNegotiator("xterm-256color", 300, 255)
	wantData := feedAll(ref, in)
	for i := 0; i <= len(in); i++ {
		for j := i; j <= len(in); j++ {
			n := newNegotiator("xterm-256color", 300, 255)
			got := n.feed(nil, in[:i])
			got = n.feed(got, in[i:j])
			got = n.feed(got, in[j:])
			if !bytes.Equal(got, wantData) || !bytes.Equal(n.out, ref.out) {
				t.Fatalf("split at %d,%d: data %q reply %v; want %q %v", i, j, got, n.out, wantData, ref.out)
			}
		}
	}
	if !bytes.Equal(wantData, []byte("lo\xffg\rin:\r\n")) {
		t.Fatalf("data = %q", wantData)
	}
}

func TestFloodsAreBounded(t *testing.T) {
	t.Run("renegotiation loop", func(t *testing.T) {
		n := newNegotiator("xterm", 80, 24)
		var in []byte
		for range 10000 {
			in = append(in, cmdIAC, cmdWILL, optEcho, cmdIAC, cmdWONT, optEcho, cmdIAC, cmdDO, 99)
		}
		n.feed(nil, in)
		if n.answers != maxAnswers || len(n.out) > 3*maxAnswers {
			t.Fatalf("answers %d, reply bytes %d: not bounded by %d", n.answers, len(n.out), maxAnswers)
		}
	})
	t.Run("endless subnegotiation", func(t *testing.T) {
		n := newNegotiator("xterm", 80, 24)
		n.feed(nil, []byte{cmdIAC, cmdDO, optTTYPE, cmdIAC, cmdSB, optTTYPE, ttypeSEND})
		n.feed(nil, bytes.Repeat([]byte{'A'}, 1<<20))
		if len(n.sb) > maxSubneg || cap(n.sb) > 2*maxSubneg {
			t.Fatalf("subnegotiation buffer grew to %d (cap %d)", len(n.sb), cap(n.sb))
		}
		// The overlong one is dropped whole: no TTYPE answer for it.
		before := len(n.out)
		if got := n.feed(nil, []byte{cmdIAC, cmdSE, 'x'}); string(got) != "x" || len(n.out) != before {
			t.Fatalf("after the overlong subnegotiation: data %q, reply grew %d", got, len(n.out)-before)
		}
	})
}

func TestNAWSEscapesIAC(t *testing.T) {
	n := newNegotiator("xterm", 80, 24)
	n.feed(nil, []byte{cmdIAC, cmdDO, optNAWS})
	n.out = nil
	n.resize(255, 0x1ff)
	want := []byte{cmdIAC, cmdSB, optNAWS, 0, 255, 255, 1, 255, 255, cmdIAC, cmdSE}
	if !bytes.Equal(n.out, want) {
		t.Fatalf("naws = %v, want %v", n.out, want)
	}
	m := newNegotiator("xterm", 80, 24)
	m.resize(100, 30)
	if len(m.out) != 0 {
		t.Fatalf("NAWS sent before the server agreed: %v", m.out)
	}
}

func TestEscape(t *testing.T) {
	tests := []struct{ in, want string }{
		{"ls\r", "ls\r\x00"},
		{"ls\r\n", "ls\r\n"},
		{"a\xffb", "a\xff\xffb"},
		{"\r\r", "\r\x00\r\x00"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := string(escape(nil, []byte(tt.in))); got != tt.want {
			t.Errorf("escape(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
