package transfer

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"path"
	"strconv"
	"strings"
	"sync"
)

// The rcp protocol that legacy scp speaks: the source sends control lines, each answered by the
// sink with one byte (0 ok, 1 warning or 2 fatal, then a message line):
//
//	T<mtime> 0 <atime> 0\n    times for the next file or directory (-p)
//	C<mode> <size> <name>\n   a file, then <size> bytes, then one 0 byte (or 1 and a message line)
//	D<mode> 0 <name>\n        enter a directory (-r)
//	E\n                       leave it
//	\x01<message>\n           the source reports an error (a missing file)
//
// The sink also sends one 0 byte first, to say it is ready.

// maxLine caps a control line: a mode, a size and a file name (NAME_MAX is 255, a generous
// margin is kept for long names in other encodings).
const maxLine = 4096

// maxDepth caps the D lines followed.
const maxDepth = 256

// Source stream states.
const (
	srcLine      = iota // reading a control line
	srcAwaitAck         // a control line is waiting for the sink's answer
	srcData             // reading file bytes
	srcDataEnd          // the byte after the file
	srcErrLine          // the message after a 1 byte that ended a file
	srcAwaitDone        // a file is complete, waiting for the sink's answer
)

// Sink stream states.
const (
	sinkByte = iota
	sinkMsg
)

type scpObserver struct {
	mu         sync.Mutex
	emit       func(Event)
	dead       bool
	cmd        scpCommand
	op         string
	clientSrc  bool // the client is the source (upload)
	nextSource int  // -f: the first source not yet matched to a top-level name
	dirs       []string

	// source side
	st      int
	line    []byte
	lineCmd byte // the control line awaiting an answer
	cur     Event
	left    int64
	h       hash.Hash

	// sink side
	sst  int
	smsg []byte
}

// NewSCP returns an Observer for a legacy scp exec request: "scp -t PATH" receives an upload from
// the client, "scp -f PATH..." sends a download to it; -r (directories), -p (times) and -d are
// understood. Any other command returns ErrNotSCP; OpenSSH 9 scp without -O runs the sftp
// subsystem instead, which NewSFTP observes.
//
// A file is reported once the sink acknowledges it. Its Path is the file's path on the target:
// for an upload, the target joined with the names sent when the target is a directory (-d, -r, a
// trailing slash, "."), and the target itself otherwise; for a download, the requested source
// whose base name matches, or the name beside the first unmatched source (a glob).
func NewSCP(command string, emit func(Event)) (Observer, error) {
	cmd, err := parseSCP(command)
	if err != nil {
		return nil, err
	}
	o := &scpObserver{emit: emit, cmd: cmd, clientSrc: cmd.to, op: "download"}
	if cmd.to {
		o.op = "upload"
	}
	return o, nil
}

func (o *scpObserver) FromClient(p []byte) { o.feed(p, o.clientSrc) }
func (o *scpObserver) FromServer(p []byte) { o.feed(p, !o.clientSrc) }

func (o *scpObserver) feed(p []byte, source bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.dead {
		return
	}
	defer func() {
		if v := recover(); v != nil {
			o.stop(unparsable("observer failure: %v", v))
		}
	}()
	if source {
		o.sourceBytes(p)
	} else {
		o.sinkBytes(p)
	}
}

func (o *scpObserver) stop(msg string) {
	o.dead = true
	o.line, o.smsg, o.h = nil, nil, nil
	o.emit(Event{Protocol: "scp", Op: o.op, Err: msg})
}

func (o *scpObserver) sourceBytes(p []byte) {
	for len(p) > 0 && !o.dead {
		switch o.st {
		case srcAwaitAck, srcAwaitDone:
			// The source sends again only after an answer; if the answer has not been seen
			// (the gateway fed this side first), take it as a yes.
			o.answer(true, "")
		case srcLine, srcErrLine:
			i := bytes.IndexByte(p, '\n')
			take := len(p)
			if i >= 0 {
				take = i
			}
			if len(o.line)+take > maxLine {
				o.stop(unparsable("scp control line over %d bytes", maxLine))
				return
			}
			o.line = append(o.line, p[:take]...)
			if i < 0 {
				return
			}
			p = p[i+1:]
			line := string(o.line)
			o.line = o.line[:0]
			if o.st == srcErrLine {
				o.cur.Err = "failed: " + strings.TrimSpace(line)
				o.cur.SHA256 = ""
				o.st = srcAwaitDone
				continue
			}
			o.control(line)
		case srcData:
			n := int64(len(p))
			if n > o.left {
				n = o.left
			}
			o.h.Write(p[:n])
			o.left -= n
			p = p[n:]
			if o.left == 0 {
				o.st = srcDataEnd
			}
		case srcDataEnd:
			c := p[0]
			p = p[1:]
			o.cur.SHA256 = hex.EncodeToString(o.h.Sum(nil))
			o.h = nil
			switch c {
			case 0:
				o.st = srcAwaitDone
			case 1, 2:
				o.st = srcErrLine
			default:
				o.stop(unparsable("scp file %q not followed by a status byte", o.cur.Path))
			}
		}
	}
}

// control acts on one control line from the source.
func (o *scpObserver) control(line string) {
	if line == "" {
		o.stop(unparsable("empty scp control line"))
		return
	}
	o.lineCmd = line[0]
	o.st = srcAwaitAck
	switch line[0] {
	case 'T':
	case 'E':
		if len(o.dirs) == 0 {
			o.stop(unparsable("scp E line outside a directory"))
			return
		}
		o.dirs = o.dirs[:len(o.dirs)-1]
	case 'C', 'D':
		size, name, ok := parseCLine(line)
		if !ok || (line[0] == 'D' && len(o.dirs) >= maxDepth) {
			o.stop(unparsable("bad scp line %q", line))
			return
		}
		p := o.pathOf(name)
		if line[0] == 'D' {
			o.dirs = append(o.dirs, p)
			return
		}
		o.cur = Event{Protocol: "scp", Op: o.op, Path: p, Size: size}
		o.left = size
		o.h = sha256.New()
	case 1, 2:
		// The source could not send something: it expects no answer.
		o.st = srcLine
		ev := Event{Protocol: "scp", Op: o.op, Err: "failed: " + strings.TrimSpace(line[1:])}
		if !o.cmd.to && len(o.cmd.paths) == 1 {
			ev.Path = o.cmd.paths[0]
		}
		o.emit(ev)
	default:
		o.stop(unparsable("unknown scp control line %q", line))
	}
}

// answer applies the sink's reply to what the source is waiting for.
func (o *scpObserver) answer(ok bool, msg string) {
	switch o.st {
	case srcAwaitAck:
		o.st = srcLine
		switch {
		case o.lineCmd == 'C' && ok:
			o.st = srcData
			if o.left == 0 {
				o.st = srcDataEnd
			}
		case o.lineCmd == 'C':
			o.cur.Err = "rejected: " + msg
			o.h = nil
			o.emit(o.cur)
		case o.lineCmd == 'D' && !ok:
			// The source skips a directory the sink refused, and sends no E for it.
			o.dirs = o.dirs[:len(o.dirs)-1]
		}
	case srcAwaitDone:
		o.st = srcLine
		if !ok && o.cur.Err == "" {
			o.cur.Err = "failed: " + msg
			o.cur.SHA256 = ""
		}
		o.emit(o.cur)
	}
}

func (o *scpObserver) sinkBytes(p []byte) {
	for len(p) > 0 && !o.dead {
		if o.sst == sinkByte {
			c := p[0]
			p = p[1:]
			switch c {
			case 0:
				o.answer(true, "")
			case 1, 2:
				o.sst = sinkMsg
			default:
				o.stop(unparsable("scp answer byte %#x", c))
			}
			continue
		}
		i := bytes.IndexByte(p, '\n')
		take := len(p)
		if i >= 0 {
			take = i
		}
		if len(o.smsg)+take > maxLine {
			o.stop(unparsable("scp error message over %d bytes", maxLine))
			return
		}
		o.smsg = append(o.smsg, p[:take]...)
		if i < 0 {
			return
		}
		p = p[i+1:]
		msg := strings.TrimSpace(string(o.smsg))
		o.smsg = o.smsg[:0]
		o.sst = sinkByte
		if o.st == srcAwaitAck || o.st == srcAwaitDone {
			o.answer(false, msg)
		} else {
			o.emit(Event{Protocol: "scp", Op: o.op, Err: "failed: " + msg})
		}
	}
}

// parseCLine reads "C0644 1234 name" or "D0755 0 name".
func parseCLine(line string) (size int64, name string, ok bool) {
	f := strings.SplitN(line[1:], " ", 3)
	if len(f) != 3 || len(f[0]) < 3 || f[2] == "" {
		return 0, "", false
	}
	if _, err := strconv.ParseUint(f[0], 8, 32); err != nil {
		return 0, "", false
	}
	size, err := strconv.ParseInt(f[1], 10, 64)
	if err != nil || size < 0 {
		return 0, "", false
	}
	return size, f[2], true
}

// pathOf names an entry on the target: inside the current directory, or at the top level as
// NewSCP's doc describes.
func (o *scpObserver) pathOf(name string) string {
	if n := len(o.dirs); n > 0 {
		return path.Join(o.dirs[n-1], name)
	}
	if o.cmd.to {
		t := o.cmd.paths[0]
		if o.cmd.dirs || t == "." || t == "" || strings.HasSuffix(t, "/") {
			return path.Join(t, name)
		}
		return t
	}
	src := o.cmd.paths
	for i := o.nextSource; i < len(src); i++ {
		if path.Base(src[i]) == name {
			o.nextSource = i + 1
			return src[i]
		}
	}
	i := min(o.nextSource, len(src)-1)
	return path.Join(path.Dir(src[i]), name)
}
