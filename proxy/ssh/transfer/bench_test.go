package transfer

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"testing"
)

// streamOf concatenates the records of one direction, for feeding in fixed-size chunks.
func streamOf(recs []record, kind byte) []byte {
	var b []byte
	for _, r := range recs {
		if r.kind == kind {
			b = append(b, r.data...)
		}
	}
	return b
}

// BenchmarkObservers measures how fast each observer follows a transfer's data direction, in the
// chunk sizes an SSH channel delivers, against SHA-256 alone over the same bytes (the floor: every
// byte must be hashed).
func BenchmarkObservers(b *testing.B) {
	content := bytes.Repeat([]byte("0123456789abcdef"), 4<<20/16)
	sftpUp := uploadRecs("/u", content, 255*1024)
	sftpClient := streamOf(sftpUp[4:], recClient) // the writes and the close
	scpUp := scpUploadRecs("f", content)
	scpClient := streamOf(scpUp, recClient)
	for _, chunk := range []int{4096, 32768} {
		b.Run(fmt.Sprintf("sha256/chunk=%d", chunk), func(b *testing.B) {
			b.SetBytes(int64(len(content)))
			for b.Loop() {
				h := sha256.New()
				for i := 0; i < len(content); i += chunk {
					h.Write(content[i:min(i+chunk, len(content))])
				}
				h.Sum(nil)
			}
		})
		b.Run(fmt.Sprintf("sftp/chunk=%d", chunk), func(b *testing.B) {
			b.SetBytes(int64(len(sftpClient)))
			b.ReportAllocs()
			for b.Loop() {
				var got []Event
				o := NewSFTP(func(e Event) { got = append(got, e) })
				feedRecs(o, sftpUp[:4]) // init and open
				for i := 0; i < len(sftpClient); i += chunk {
					o.FromClient(sftpClient[i:min(i+chunk, len(sftpClient))])
				}
				o.FromServer(sftpUp[len(sftpUp)-1].data)
				if len(got) != 1 || got[0].SHA256 == "" {
					b.Fatalf("events %+v", got)
				}
			}
		})
		b.Run(fmt.Sprintf("scp/chunk=%d", chunk), func(b *testing.B) {
			b.SetBytes(int64(len(scpClient)))
			b.ReportAllocs()
			for b.Loop() {
				var got []Event
				o, _ := NewSCP("scp -t /t", func(e Event) { got = append(got, e) })
				o.FromServer([]byte{0})
				o.FromClient(scpClient[:len(scpClient)-len(content)-1])
				o.FromServer([]byte{0})
				data := scpClient[len(scpClient)-len(content)-1:]
				for i := 0; i < len(data); i += chunk {
					o.FromClient(data[i:min(i+chunk, len(data))])
				}
				o.FromServer([]byte{0})
				if len(got) != 1 || got[0].SHA256 == "" {
					b.Fatalf("events %+v", got)
				}
			}
		})
	}
}
