package video

import (
	"bytes"
	"encoding/json"
	"math"
	"os/exec"
	"strconv"
	"testing"
	"time"
)

// probeFrame is a frame or a packet (ffprobe lists both in one array when asked for both).
type probeFrame struct {
	Type         string `json:"type"`
	KeyFrame     int    `json:"key_frame"`
	PtsTime      string `json:"pts_time"`
	PictType     string `json:"pict_type"`
	DurationTime string `json:"duration_time"`
}

type probeResult struct {
	Streams []struct {
		CodecName string `json:"codec_name"`
		Width     int    `json:"width"`
		Height    int    `json:"height"`
		PixFmt    string `json:"pix_fmt"`
		StartTime string `json:"start_time"`
		Duration  string `json:"duration"`
	} `json:"streams"`
	Format struct {
		FormatName string `json:"format_name"`
		StartTime  string `json:"start_time"`
		Duration   string `json:"duration"`
	} `json:"format"`
	Both    []probeFrame `json:"packets_and_frames"`
	Frames  []probeFrame `json:"-"`
	Packets []probeFrame `json:"-"`
}

// probe runs Debian's ffprobe on an MP4, with errors fatal (a warning about the file is an error).
func probe(t testing.TB, mp4 []byte) probeResult {
	t.Helper()
	if _, err := exec.LookPath("ffprobe"); err != nil {
		t.Skip("ffprobe not installed (apt-get install ffmpeg)")
	}
	name := writeTemp(t, mp4)
	cmd := exec.Command("ffprobe", "-v", "error", "-print_format", "json",
		"-show_streams", "-show_format", "-show_frames", "-show_packets", name)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil || stderr.Len() > 0 {
		t.Fatalf("ffprobe: %v: %s", err, stderr.String())
	}
	var p probeResult
	if err := json.Unmarshal(out, &p); err != nil {
		t.Fatalf("ffprobe output: %v", err)
	}
	for _, f := range p.Both {
		if f.Type == "frame" {
			p.Frames = append(p.Frames, f)
		} else {
			p.Packets = append(p.Packets, f)
		}
	}
	return p
}

func seconds(t testing.TB, s string) time.Duration {
	t.Helper()
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		t.Fatalf("ffprobe time %q: %v", s, err)
	}
	return time.Duration(math.Round(f*1e6)) * time.Microsecond
}

// checkProbe checks what FORMAT.md promises of a segment [start, end) with frames at ts.
func checkProbe(t testing.TB, p probeResult, start, end time.Duration, w, h int, ts []time.Duration) {
	t.Helper()
	if len(p.Streams) != 1 {
		t.Fatalf("%d streams, want 1", len(p.Streams))
	}
	s := p.Streams[0]
	if s.CodecName != "h264" || s.PixFmt != "yuv420p" || s.Width != w || s.Height != h {
		t.Errorf("stream %s %s %dx%d, want h264 yuv420p %dx%d", s.CodecName, s.PixFmt, s.Width, s.Height, w, h)
	}
	const tol = 2 * time.Millisecond
	if got := seconds(t, s.StartTime); absDur(got-start) > tol {
		t.Errorf("start_time %v, want %v", got, start)
	}
	// FFmpeg reads a tfdt-based fragment's end as the stream's duration (it counts from 0), so a
	// segment [start, end) probes as start_time=start, duration=end.
	if got := seconds(t, s.Duration); absDur(got-end) > tol {
		t.Errorf("duration %v, want the end %v", got, end)
	}

	if len(p.Frames) != len(ts) {
		t.Fatalf("%d frames, want %d", len(p.Frames), len(ts))
	}
	if p.Frames[0].KeyFrame != 1 || p.Frames[0].PictType != "I" {
		t.Errorf("first frame key=%d type %s, want an I key frame", p.Frames[0].KeyFrame, p.Frames[0].PictType)
	}
	prev := time.Duration(-1)
	for i, f := range p.Frames {
		pts := seconds(t, f.PtsTime)
		if pts <= prev {
			t.Errorf("frame %d pts %v not after %v", i, pts, prev)
		}
		if absDur(pts-ts[i]) > tol {
			t.Errorf("frame %d pts %v, want %v", i, pts, ts[i])
		}
		prev = pts
	}
}

func absDur(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}
