package gateway_test

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"testing"
	"time"

	"filippo.io/age"

	"github.com/seed18fc72c3/vigil/cmd/gateway"
	"github.com/seed18fc72c3/vigil/cmd/nodekeys"
	"github.com/seed18fc72c3/vigil/encode"
	"github.com/seed18fc72c3/vigil/encode/eventlog"
	"github.com/seed18fc72c3/vigil/storage/file"
)

// sizedRecording stores a session of segs segments of about segBytes of terminal output each.
func sizedRecording(b *testing.B, segs, segBytes int) (*gateway.Recordings, string) {
	b.Helper()
	dir := b.TempDir()
	keys, err := nodekeys.Ensure(filepath.Join(dir, "keys"))
	if err != nil {
		b.Fatal(err)
	}
	be, err := file.New(filepath.Join(dir, "store"))
	if err != nil {
		b.Fatal(err)
	}
	store := gateway.NewRecordings(be, keys, nil)
	id := fmt.Sprintf("bench%019d", segs*segBytes)
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	meta := encode.SessionMeta{ID: id, User: "u", Target: "t", Protocol: "ssh", Start: start}
	sink, err := store.Sink(meta)
	if err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	line := make([]byte, 100)
	var infos []encode.SegmentInfo
	for i := 0; i < segs; i++ {
		at := time.Duration(i) * 5 * time.Second
		var buf bytes.Buffer
		w, _ := eventlog.NewWriter(&buf, eventlog.Header{SessionID: id, Segment: i, Start: start, Offset: at, Cols: 80, Rows: 24}, []byte("$ "))
		for n := 0; n < segBytes; n += len(line) + 2 {
			for j := range line {
				line[j] = byte('a' + rng.IntN(26))
			}
			w.Write(eventlog.Record{Time: at + time.Duration(n), Type: eventlog.TypeOutput, Payload: append(bytes.Clone(line), '\r', '\n')})
		}
		w.Close()
		seg := encode.SegmentInfo{Index: i, Start: at, End: at + 5*time.Second, Bytes: buf.Len()}
		if err := sink.PutSegment(context.Background(), seg, buf.Bytes()); err != nil {
			b.Fatal(err)
		}
		infos = append(infos, seg)
	}
	if err := sink.Finish(context.Background(), encode.Summary{Meta: meta, Segments: infos, Cause: "user exit"}); err != nil {
		b.Fatal(err)
	}
	return store, id
}

// BenchmarkEvidence measures export (decrypt, check, re-encrypt, asciicast, player, zip) and
// verify (with decryption) of one recording; bytes are the terminal output recorded.
func BenchmarkEvidence(b *testing.B) {
	rid, _ := age.GenerateX25519Identity()
	for _, sz := range []struct{ segs, bytes int }{{4, 64 << 10}, {8, 1 << 20}} {
		store, id := sizedRecording(b, sz.segs, sz.bytes)
		var bundle []byte
		b.Run(fmt.Sprintf("export/%dx%dKiB", sz.segs, sz.bytes>>10), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(sz.segs * sz.bytes))
			for b.Loop() {
				var buf bytes.Buffer
				if _, err := store.ExportEvidence(context.Background(), &buf, []string{id}, gateway.EvidenceOptions{Recipients: []age.Recipient{rid.Recipient()}}); err != nil {
					b.Fatal(err)
				}
				bundle = buf.Bytes()
			}
			b.ReportMetric(float64(len(bundle))/float64(sz.segs*sz.bytes), "bundle/output")
		})
		b.Run(fmt.Sprintf("verify/%dx%dKiB", sz.segs, sz.bytes>>10), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(sz.segs * sz.bytes))
			for b.Loop() {
				if _, err := verifyBytes(bundle, gateway.EvidenceVerifyOptions{Identities: []age.Identity{rid}}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
