package gateway_test

import (
	"bytes"
	"context"
	"encoding/json"
	"image"
	"image/color"
	"image/draw"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"filippo.io/age"

	"github.com/seed18fc72c3/vigil/capture"
	"github.com/seed18fc72c3/vigil/capture/frame"
	"github.com/seed18fc72c3/vigil/cmd/gateway"
	"github.com/seed18fc72c3/vigil/cmd/nodekeys"
	"github.com/seed18fc72c3/vigil/encode"
	"github.com/seed18fc72c3/vigil/encode/video"
	"github.com/seed18fc72c3/vigil/storage/file"
	"github.com/seed18fc72c3/vigil/storage/seal"
)

// recordGraphical records about 2.5 s of a changing 320x240 desktop and one key press through the
// real video recorder into the store, with 1-second cuts.
func recordGraphical(t *testing.T, store *gateway.Recordings) encode.SessionMeta {
	t.Helper()
	ring, err := capture.New(capture.Config{ArenaBytes: 8 << 20, Records: 4096, MaxRead: 1 << 20, StallTimeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	meta := encode.SessionMeta{ID: "gfx-store-1", User: "alice", Target: "desk01", Account: "alice", Protocol: "vnc", Start: ring.Start(), Cols: 320, Rows: 240}
	sink, err := store.Sink(meta)
	if err != nil {
		t.Fatal(err)
	}
	rec := video.NewRecorder(meta, sink, video.Options{SegmentDuration: time.Second})
	rd := ring.NewReader(capture.Lossless)
	type result struct {
		sum encode.Summary
		err error
	}
	done := make(chan result, 1)
	go func() {
		sum, err := rec.Run(context.Background(), rd, func() error { return nil })
		done <- result{sum, err}
	}()
	p := ring.NewProducer()
	e := &frame.Emitter{W: p, MaxPayload: 1 << 20}
	img := image.NewRGBA(image.Rect(0, 0, 320, 240))
	draw.Draw(img, img.Bounds(), image.NewUniform(color.RGBA{20, 30, 40, 255}), image.Point{}, draw.Src)
	if err := e.Size(320, 240); err != nil {
		t.Fatal(err)
	}
	if err := e.Update(img, []image.Rectangle{img.Bounds()}); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 25; i++ {
		r := image.Rect(10*i, 100, 10*i+10, 140)
		draw.Draw(img, r, image.NewUniform(color.RGBA{250, 200, byte(10 * i), 255}), image.Point{}, draw.Src)
		if err := e.Update(img, []image.Rectangle{r}); err != nil {
			t.Fatal(err)
		}
		if i == 12 {
			key := frame.Input{Kind: frame.InputKey, Down: true, Keysym: 0xff0d, Scancode: 0x1c}
			if _, err := p.Write(capture.TypeInput, 0, key.Append(nil)); err != nil {
				t.Fatal(err)
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	ring.Close()
	res := <-done
	if res.err != nil {
		t.Fatalf("video recorder: %v", res.err)
	}
	return meta
}

// TestGraphicalRecordingInStore: a graphical recording's video and event-log segments are sealed
// in one verified chain; the text player and the indexer see only its event logs, the video
// player only its video; an evidence bundle carries one session.mp4 that ffprobe reads and that
// verifies with the rest of the bundle.
func TestGraphicalRecordingInStore(t *testing.T) {
	if _, err := exec.LookPath("ffprobe"); err != nil {
		t.Skip("ffprobe not installed (make deps-test installs it)")
	}
	dir := t.TempDir()
	backend, err := file.New(filepath.Join(dir, "store"))
	if err != nil {
		t.Fatal(err)
	}
	defer backend.Close()
	keys, err := nodekeys.Ensure(filepath.Join(dir, "keys"))
	if err != nil {
		t.Fatal(err)
	}
	store := gateway.NewRecordings(backend, keys, nil)
	meta := recordGraphical(t, store)
	ctx := context.Background()

	ref, err := store.Find(ctx, meta.ID)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := seal.Verify(ctx, backend, ref.Prefix, keys.TrustedSigners())
	if err != nil || !rep.OK() {
		t.Fatalf("verify: %v %v", err, rep.Err())
	}
	entries, err := store.Entries(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	videos, logs := 0, 0
	for _, e := range entries {
		if e.Media == seal.MediaMP4 {
			videos++
		} else {
			logs++
		}
	}
	if videos < 2 || logs < 2 {
		t.Fatalf("entries: %d video, %d event log; want at least 2 of each (1 s cuts over 2.5 s)", videos, logs)
	}

	web := &gateway.WebSessions{Recordings: store}
	_, textSegs, err := web.Get(ctx, meta.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(textSegs) != logs {
		t.Fatalf("text player sees %d segments, want the %d event logs", len(textSegs), logs)
	}
	vsegs, err := web.VideoSegments(ctx, meta.ID)
	if err != nil || len(vsegs) != videos {
		t.Fatalf("video segments: %d, %v; want %d", len(vsegs), err, videos)
	}
	rc, err := web.OpenVideo(ctx, meta.ID, vsegs[0].Index)
	if err != nil {
		t.Fatal(err)
	}
	first, _ := io.ReadAll(rc)
	rc.Close()
	if len(first) < 8 || string(first[4:8]) != "ftyp" {
		t.Fatalf("video segment 0 does not start with an MP4 ftyp box: % x", first[:min(len(first), 8)])
	}
	if _, err := web.OpenVideo(ctx, meta.ID, textSegs[0].Index); err == nil {
		t.Fatal("OpenVideo opened an event-log segment")
	}
	// The event logs decode as event logs (the indexer and asciicast read these).
	segs, closeAll, err := store.OpenSegments(ctx, meta.ID)
	if err != nil {
		t.Fatal(err)
	}
	recs := encode.NewRecords(segs)
	inputs := 0
	for {
		r, err := recs.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("event logs: %v", err)
		}
		if r.Type == uint8(capture.TypeInput) {
			inputs++
		}
	}
	closeAll()
	if inputs != 1 {
		t.Fatalf("input events in the event logs: %d, want 1", inputs)
	}

	// Evidence: one MP4 that plays, and the bundle verifies.
	const pass = "graphical evidence passphrase"
	var buf bytes.Buffer
	idx, err := store.ExportEvidence(ctx, &buf, []string{meta.ID}, gateway.EvidenceOptions{Passphrase: pass, Exporter: "test"})
	if err != nil {
		t.Fatal(err)
	}
	if idx.Sessions[0].Kind != "graphical" || len(idx.Sessions[0].Playable) != 1 || idx.Sessions[0].Playable[0] != "session.mp4" {
		t.Fatalf("bundle session: %+v", idx.Sessions[0])
	}
	id, _ := age.NewScryptIdentity(pass)
	vrep, err := verifyBytes(buf.Bytes(), gateway.EvidenceVerifyOptions{Identities: []age.Identity{id}})
	if err != nil || !vrep.OK() {
		t.Fatalf("verify bundle: %v %+v", err, vrep)
	}
	mp4 := zipFile(t, buf.Bytes(), meta.ID+"/session.mp4")
	path := filepath.Join(dir, "session.mp4")
	if err := os.WriteFile(path, mp4, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", "stream=codec_name,width,height:format=duration", "-of", "json", path).Output()
	if err != nil {
		t.Fatalf("ffprobe session.mp4: %v", err)
	}
	var probe struct {
		Streams []struct {
			CodecName     string `json:"codec_name"`
			Width, Height int
		}
		Format struct{ Duration string }
	}
	if err := json.Unmarshal(out, &probe); err != nil || len(probe.Streams) != 1 {
		t.Fatalf("ffprobe: %s %v", out, err)
	}
	if s := probe.Streams[0]; s.CodecName != "h264" || s.Width != 320 || s.Height != 240 {
		t.Fatalf("session.mp4 stream: %+v", s)
	}
	if d, _ := strconv.ParseFloat(probe.Format.Duration, 64); d < 1.5 || d > 4 {
		t.Fatalf("session.mp4 duration %v s, want about 2.5", d)
	}
}
