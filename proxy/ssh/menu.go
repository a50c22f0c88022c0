package ssh

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// errMenuQuit is the user leaving the menu (Ctrl-C, Ctrl-D, or too many bad choices).
var errMenuQuit = errors.New("menu: user quit")

const menuTries = 3

// runMenu shows the permitted targets on the user's terminal and reads a number or a name. The
// client's pty is in raw mode, so the menu echoes and handles backspace itself.
func runMenu(rw io.ReadWriter, targets []string) (string, error) {
	if len(targets) == 0 {
		fmt.Fprint(rw, "vigil: you have no permitted targets\r\n")
		return "", errMenuQuit
	}
	var b strings.Builder
	b.WriteString("Permitted targets:\r\n")
	for i, t := range targets {
		fmt.Fprintf(&b, "  %d) %s\r\n", i+1, t)
	}
	if _, err := io.WriteString(rw, b.String()); err != nil {
		return "", err
	}
	for range menuTries {
		if _, err := io.WriteString(rw, "Target (number or name): "); err != nil {
			return "", err
		}
		line, err := readLine(rw)
		if err != nil {
			return "", err
		}
		if t, ok := pick(targets, line); ok {
			return t, nil
		}
		fmt.Fprintf(rw, "vigil: no such choice: %q\r\n", line)
	}
	return "", errMenuQuit
}

// pick matches a typed line against the list, by 1-based number or by exact name.
func pick(targets []string, line string) (string, bool) {
	line = strings.TrimSpace(line)
	if n, err := strconv.Atoi(line); err == nil && n >= 1 && n <= len(targets) {
		return targets[n-1], true
	}
	for _, t := range targets {
		if t == line && line != "" {
			return t, true
		}
	}
	return "", false
}

// maxLine bounds what a user can make the gateway buffer before a target is chosen.
const maxLine = 256

func readLine(rw io.ReadWriter) (string, error) {
	var line []byte
	var b [1]byte
	for {
		if _, err := rw.Read(b[:]); err != nil {
			return "", err
		}
		switch c := b[0]; {
		case c == '\r' || c == '\n':
			io.WriteString(rw, "\r\n")
			return string(line), nil
		case c == 3 || (c == 4 && len(line) == 0): // Ctrl-C, Ctrl-D
			io.WriteString(rw, "\r\n")
			return "", errMenuQuit
		case c == 127 || c == 8:
			if len(line) > 0 {
				line = line[:len(line)-1]
				io.WriteString(rw, "\b \b")
			}
		case c >= 0x20 && c < 127 && len(line) < maxLine:
			line = append(line, c)
			rw.Write(b[:])
		}
	}
}
