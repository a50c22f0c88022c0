package transfer

import (
	"encoding/binary"
	"strconv"
)

// Builders for synthetic SFTP packets, for unit tests, fuzz seeds and benchmarks.

func pkt(typ byte, fields ...any) []byte {
	body := []byte{typ}
	for _, f := range fields {
		switch v := f.(type) {
		case uint32:
			body = binary.BigEndian.AppendUint32(body, v)
		case uint64:
			body = binary.BigEndian.AppendUint64(body, v)
		case string:
			body = binary.BigEndian.AppendUint32(body, uint32(len(v)))
			body = append(body, v...)
		case []byte:
			body = binary.BigEndian.AppendUint32(body, uint32(len(v)))
			body = append(body, v...)
		}
	}
	return append(binary.BigEndian.AppendUint32(nil, uint32(len(body))), body...)
}

func open3(id uint32, path string, flags uint32) []byte {
	return pkt(fxpOpen, id, path, flags, uint32(0)) // empty ATTRS: flags word only
}
func handle(id uint32, h string) []byte { return pkt(fxpHandle, id, h) }
func write(id uint32, h string, off uint64, data []byte) []byte {
	return pkt(fxpWrite, id, h, off, data)
}
func read(id uint32, h string, off uint64, n uint32) []byte { return pkt(fxpRead, id, h, off, n) }
func data(id uint32, d []byte) []byte                       { return pkt(fxpData, id, d) }
func status(id, code uint32, msg string) []byte             { return pkt(fxpStatus, id, code, msg, "") }
func closeH(id uint32, h string) []byte                     { return pkt(fxpClose, id, h) }

// upload builds a synthetic client->server and server->client exchange uploading content to path
// in writes of chunk bytes at the given offsets (nil: sequential).
func uploadRecs(path string, content []byte, chunk int) []record {
	recs := []record{
		{recClient, pkt(fxpInit, uint32(3))},
		{recServer, pkt(2, uint32(3))},
		{recClient, open3(1, path, fxfWrite|0x08|0x10)},
		{recServer, handle(1, "h1")},
	}
	id := uint32(2)
	for off := 0; off < len(content); off += chunk {
		end := min(off+chunk, len(content))
		recs = append(recs, record{recClient, write(id, "h1", uint64(off), content[off:end])})
		recs = append(recs, record{recServer, status(id, fxOK, "")})
		id++
	}
	recs = append(recs, record{recClient, closeH(id, "h1")}, record{recServer, status(id, fxOK, "")})
	return recs
}

// downloadRecs builds a download of content from path in reads of chunk bytes, ending with EOF.
func downloadRecs(path string, content []byte, chunk int) []record {
	recs := []record{
		{recClient, open3(1, path, fxfRead)},
		{recServer, handle(1, "h2")},
	}
	id := uint32(2)
	for off := 0; off < len(content); off += chunk {
		end := min(off+chunk, len(content))
		recs = append(recs, record{recClient, read(id, "h2", uint64(off), uint32(chunk))})
		recs = append(recs, record{recServer, data(id, content[off:end])})
		id++
	}
	// A short last read is followed by a read at the end, as OpenSSH's client does.
	recs = append(recs, record{recClient, read(id, "h2", uint64(len(content)), uint32(chunk))})
	recs = append(recs, record{recServer, status(id, fxEOF, "EOF")})
	id++
	recs = append(recs, record{recClient, closeH(id, "h2")}, record{recServer, status(id, fxOK, "")})
	return recs
}

// scpUploadRecs builds a legacy scp upload of one file: the sink (server) answers every line.
func scpUploadRecs(name string, content []byte) []record {
	return []record{
		{recServer, []byte{0}},
		{recClient, []byte("C0644 " + strconv.Itoa(len(content)) + " " + name + "\n")},
		{recServer, []byte{0}},
		{recClient, append(append([]byte{}, content...), 0)},
		{recServer, []byte{0}},
	}
}
