package transfer

import (
	"fmt"
	"path"
	"strings"
)

// scpCommand is what the remote end of a legacy scp was asked to do.
type scpCommand struct {
	to    bool     // -t: the remote end is the sink, the client uploads
	dirs  bool     // -d or -r: the target is a directory
	paths []string // -t: one target; -f: the sources
}

// parseSCP reads an exec request such as "scp -r -p -t -- /tmp/x".
func parseSCP(command string) (scpCommand, error) {
	words, err := shellWords(command)
	if err != nil || len(words) == 0 || path.Base(words[0]) != "scp" {
		return scpCommand{}, fmt.Errorf("transfer: %q: %w", command, ErrNotSCP)
	}
	var c scpCommand
	var to, from bool
	i := 1
	for ; i < len(words); i++ {
		w := words[i]
		if w == "--" {
			i++
			break
		}
		if len(w) < 2 || w[0] != '-' {
			break
		}
		for _, f := range w[1:] {
			switch f {
			case 't':
				to = true
			case 'f':
				from = true
			case 'r', 'd':
				c.dirs = true
			}
		}
	}
	c.to = to
	c.paths = words[i:]
	switch {
	case to == from:
		return scpCommand{}, fmt.Errorf("transfer: %q: neither -t nor -f: %w", command, ErrNotSCP)
	case to && len(c.paths) != 1:
		return scpCommand{}, fmt.Errorf("transfer: %q: -t needs one target: %w", command, ErrNotSCP)
	case from && len(c.paths) == 0:
		return scpCommand{}, fmt.Errorf("transfer: %q: -f needs a source: %w", command, ErrNotSCP)
	}
	return c, nil
}

// shellWords splits a command line the way sh would for plain words, quotes and backslashes; it
// does no expansion.
func shellWords(s string) ([]string, error) {
	var words []string
	var cur strings.Builder
	inWord := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		case c == '\\':
			inWord = true
			if i+1 < len(s) {
				i++
				cur.WriteByte(s[i])
			}
		case c == '\'':
			inWord = true
			j := strings.IndexByte(s[i+1:], '\'')
			if j < 0 {
				return nil, fmt.Errorf("unterminated quote")
			}
			cur.WriteString(s[i+1 : i+1+j])
			i += j + 1
		case c == '"':
			inWord = true
			for i++; i < len(s) && s[i] != '"'; i++ {
				if s[i] == '\\' && i+1 < len(s) && strings.IndexByte("\\\"$`", s[i+1]) >= 0 {
					i++
				}
				cur.WriteByte(s[i])
			}
			if i >= len(s) {
				return nil, fmt.Errorf("unterminated quote")
			}
		default:
			inWord = true
			cur.WriteByte(c)
		}
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, nil
}
