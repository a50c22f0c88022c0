package transfer

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"sync"
)

// SFTP v3 packet types and open flags used here (draft-ietf-secsh-filexfer-02, section 3).
const (
	fxpInit     = 1
	fxpOpen     = 3
	fxpClose    = 4
	fxpRead     = 5
	fxpWrite    = 6
	fxpRemove   = 13
	fxpMkdir    = 14
	fxpRmdir    = 15
	fxpRename   = 18
	fxpStatus   = 101
	fxpHandle   = 102
	fxpData     = 103
	fxpExtended = 200

	fxfRead  = 0x01
	fxfWrite = 0x02

	fxOK  = 0
	fxEOF = 1
)

// Bounds on what one SFTP observer remembers. OpenSSH's client keeps at most 64 requests in
// flight and one or two handles per transfer; beyond these caps a transfer loses its hash, never
// its bytes.
const (
	maxHandles  = 256
	maxRequests = 4096
)

type reqKind uint8

const (
	reqOpen reqKind = iota + 1
	reqClose
	reqRead
	reqWrite
	reqRemove
	reqMkdir
	reqRename
)

// request is an SFTP request waiting for its reply.
type request struct {
	kind         reqKind
	path, target string // open, remove, mkdir, rename
	flags        uint32 // open
	handle       string // close, read, write
	offset       uint64 // read
	op           string // remove or mkdir: "remove" also stands for RMDIR
}

// file is an open handle being followed.
type file struct {
	path  string
	flags uint32
	h     hash.Hash
	next  uint64 // the offset the hashed bytes reach
	size  int64  // bytes of data seen
	wrote bool
	read  bool
	seq   bool   // every byte so far arrived at next
	eofAt uint64 // the lowest offset a READ got EOF at; ^0 if none
	err   string
}

type sftpObserver struct {
	mu       sync.Mutex
	emit     func(Event)
	dead     bool
	client   packetReader
	server   packetReader
	reqs     map[uint32]request
	handles  map[string]*file
	warnedAt bool // a cap was hit and reported
}

// NewSFTP returns an Observer for an SFTP v3 session (the "sftp" subsystem). It reports uploads
// and downloads when their handle is closed, and removes, renames and mkdirs when the server
// answers them. emit is called for every Event.
func NewSFTP(emit func(Event)) Observer {
	return &sftpObserver{
		emit:    emit,
		reqs:    make(map[uint32]request),
		handles: make(map[string]*file),
	}
}

func (o *sftpObserver) FromClient(p []byte) { o.feed(&o.client, "client", p, o.clientPacket) }
func (o *sftpObserver) FromServer(p []byte) { o.feed(&o.server, "server", p, o.serverPacket) }

func (o *sftpObserver) feed(r *packetReader, side string, p []byte, fn func([]byte)) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.dead {
		return
	}
	defer func() {
		// An observer bug must not end a privileged session: report it and stop observing.
		if v := recover(); v != nil {
			o.stop(unparsable("observer failure: %v", v))
		}
	}()
	if n, err := r.feed(p, fn); err != nil {
		o.stop(unparsable("%s packet of %d bytes", side, n))
	}
}

// stop reports why observation ended and forgets all state.
func (o *sftpObserver) stop(msg string) {
	o.dead = true
	o.reqs, o.handles = nil, nil
	o.client.buf, o.server.buf = nil, nil
	o.emit(Event{Protocol: "sftp", Err: msg})
}

func (o *sftpObserver) track(id uint32, r request) bool {
	if len(o.reqs) >= maxRequests {
		if _, ok := o.reqs[id]; !ok {
			return false
		}
	}
	o.reqs[id] = r
	return true
}

func (o *sftpObserver) clientPacket(body []byte) {
	w := wire{b: body}
	typ := w.u8()
	if typ == fxpInit {
		return
	}
	id := w.u32()
	switch typ {
	case fxpOpen:
		path := string(w.bytes())
		flags := w.u32()
		if !w.bad {
			o.track(id, request{kind: reqOpen, path: path, flags: flags})
		}
	case fxpClose:
		h := w.bytes()
		if !w.bad {
			o.track(id, request{kind: reqClose, handle: string(h)})
		}
	case fxpRead:
		h := w.bytes()
		off := w.u64()
		if f := o.handles[string(h)]; f != nil && !w.bad {
			if !o.track(id, request{kind: reqRead, handle: string(h), offset: off}) {
				f.seq = false
			}
		}
	case fxpWrite:
		h := w.bytes()
		off := w.u64()
		data := w.bytes()
		f := o.handles[string(h)]
		if f == nil || w.bad {
			return
		}
		f.wrote = true
		f.size += int64(len(data))
		if f.seq && off == f.next {
			f.h.Write(data)
			f.next += uint64(len(data))
		} else {
			f.seq = false
		}
		if !o.track(id, request{kind: reqWrite, handle: string(h)}) {
			f.seq = false
		}
	case fxpRemove, fxpRmdir, fxpMkdir:
		path := string(w.bytes())
		kind, op := reqRemove, "remove"
		if typ == fxpMkdir {
			kind, op = reqMkdir, "mkdir"
		}
		if !w.bad {
			o.track(id, request{kind: kind, path: path, op: op})
		}
	case fxpRename:
		oldp, newp := string(w.bytes()), string(w.bytes())
		if !w.bad {
			o.track(id, request{kind: reqRename, path: oldp, target: newp})
		}
	case fxpExtended:
		// OpenSSH's client renames with this extension when the server offers it.
		if name := string(w.bytes()); name == "posix-rename@openssh.com" {
			oldp, newp := string(w.bytes()), string(w.bytes())
			if !w.bad {
				o.track(id, request{kind: reqRename, path: oldp, target: newp})
			}
		}
	}
}

func (o *sftpObserver) serverPacket(body []byte) {
	w := wire{b: body}
	typ := w.u8()
	id := w.u32()
	if w.bad || typ < fxpStatus {
		return
	}
	req, ok := o.reqs[id]
	if !ok {
		return
	}
	delete(o.reqs, id)
	switch typ {
	case fxpHandle:
		h := w.bytes()
		if req.kind != reqOpen || w.bad {
			return
		}
		if len(o.handles) >= maxHandles {
			o.emit(Event{Protocol: "sftp", Op: openOp(req.flags, false), Path: req.path,
				Err: fmt.Sprintf("not followed: more than %d open handles", maxHandles)})
			return
		}
		o.handles[string(h)] = &file{path: req.path, flags: req.flags, h: sha256.New(), seq: true, eofAt: ^uint64(0)}
	case fxpData:
		data := w.bytes()
		f := o.handles[req.handle]
		if req.kind != reqRead || f == nil || w.bad {
			return
		}
		f.read = true
		f.size += int64(len(data))
		if f.seq && req.offset == f.next {
			f.h.Write(data)
			f.next += uint64(len(data))
		} else {
			f.seq = false
		}
	case fxpStatus:
		code := w.u32()
		msg := string(w.bytes())
		o.status(req, code, msg)
	}
}

func (o *sftpObserver) status(req request, code uint32, msg string) {
	failed := ""
	if code != fxOK {
		failed = fmt.Sprintf("failed: %s (status %d)", msg, code)
	}
	switch req.kind {
	case reqOpen:
		if code != fxOK {
			o.emit(Event{Protocol: "sftp", Op: openOp(req.flags, false), Path: req.path, Err: failed})
		}
	case reqRead:
		if f := o.handles[req.handle]; f != nil {
			switch {
			case code == fxEOF:
				f.eofAt = min(f.eofAt, req.offset)
			case code != fxOK && f.err == "":
				f.err = failed
			}
		}
	case reqWrite:
		if f := o.handles[req.handle]; f != nil && code != fxOK && f.err == "" {
			f.err = failed
		}
	case reqClose:
		f := o.handles[req.handle]
		if f == nil {
			return
		}
		delete(o.handles, req.handle)
		ev := Event{Protocol: "sftp", Op: openOp(f.flags, f.wrote), Path: f.path, Size: f.size, Err: f.err}
		// A hash stands for the file only after one pass in one direction: an upload written
		// from 0 on, or a download read from 0 to EOF.
		whole := f.seq && f.err == "" && !(f.wrote && f.read)
		if ev.Op == "download" && f.eofAt != f.next {
			whole = false
		}
		if whole && code == fxOK {
			ev.SHA256 = hex.EncodeToString(f.h.Sum(nil))
		}
		if ev.Err == "" {
			ev.Err = failed
		}
		o.emit(ev)
	case reqRemove, reqMkdir:
		o.emit(Event{Protocol: "sftp", Op: req.op, Path: req.path, Err: failed})
	case reqRename:
		o.emit(Event{Protocol: "sftp", Op: "rename", Path: req.path, Target: req.target, Err: failed})
	}
}

// openOp names a transfer by what was done with its handle, or by its open flags before that.
func openOp(flags uint32, wrote bool) string {
	if wrote || flags&fxfRead == 0 && flags&fxfWrite != 0 {
		return "upload"
	}
	return "download"
}
