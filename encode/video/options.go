package video

import (
	"errors"
	"fmt"
	"time"
)

// Options configure a Recorder. The zero value of a field means its default (DefaultOptions).
type Options struct {
	// SegmentDuration and SegmentBytes bound a cut (FORMAT.md): whichever comes first ends it.
	SegmentDuration time.Duration
	SegmentBytes    int
	// MaxFPS caps the frames encoded per second (default 5). Changes that come faster are merged
	// into the next slot, never dropped.
	MaxFPS float64
	// CRF is libx264's constant rate factor (0-51, lower is better), used with qcomp=1 so that
	// every frame gets the same quality: x264's default (0.6) raises the quantizer of frames with
	// much change, which for a screen (a new window, a page of text) measured 20 dB instead of 39.
	// Default 26: 1080p desktop text decodes at about 38 dB PSNR (legible; smearing starts near
	// 30 dB), and a keyframe of a desktop with a full terminal is about 85 KB, which a quiet hour
	// pays 720 times (one per cut).
	CRF int
	// Preset is libx264's speed preset. Default "veryfast": its hexagon motion search follows a
	// scrolling terminal (ultrafast's and superfast's diamond search does not, and a scrolling
	// session then costs 4-5 times the bytes), at about 25 sessions per core (bench_test.go).
	Preset string
	// OnFailure is called once when the recording fails (a segment cannot be encoded or persisted).
	// It must stop the session (capture.Ring.Fail): Vigil fails closed. As encode.Options.OnFailure:
	// when nil, the recorder keeps its reader, so the producers stall and the ring ends the session.
	OnFailure func(error)
}

// DefaultOptions cut every 5 s or 4 MiB and encode at most 5 frames a second.
func DefaultOptions() Options {
	return Options{SegmentDuration: 5 * time.Second, SegmentBytes: 4 << 20, MaxFPS: 5, CRF: 26, Preset: "veryfast"}
}

// withDefaults fills zero fields from DefaultOptions.
func (o Options) withDefaults() Options {
	d := DefaultOptions()
	if o.SegmentDuration <= 0 {
		o.SegmentDuration = d.SegmentDuration
	}
	if o.SegmentBytes <= 0 {
		o.SegmentBytes = d.SegmentBytes
	}
	if o.MaxFPS <= 0 {
		o.MaxFPS = d.MaxFPS
	}
	if o.CRF == 0 {
		o.CRF = d.CRF
	}
	if o.Preset == "" {
		o.Preset = d.Preset
	}
	return o
}

// Validate names the first bad field.
func (o Options) Validate() error {
	o = o.withDefaults()
	switch {
	case o.MaxFPS > 60:
		return fmt.Errorf("video: options: MaxFPS %v above 60", o.MaxFPS)
	case o.CRF < 0 || o.CRF > 51:
		return fmt.Errorf("video: options: CRF %d outside 0-51", o.CRF)
	}
	return nil
}

// Errors. Callers compare with errors.Is.
var (
	// ErrEncode wraps a failure of the encoder or muxer: the recording cannot go on.
	ErrEncode = errors.New("video: encode failed")
	// ErrNoFrame is returned by FrameAt when the segment has no frame at or before the time.
	ErrNoFrame = errors.New("video: no frame at that time")
	// ErrFormat is returned by Concat and FrameAt for input that is not a video segment as
	// FORMAT.md describes (not MP4, no H.264 track, or segments of different sizes).
	ErrFormat = errors.New("video: not a vigil video segment")
)

func (o Options) interval() time.Duration {
	return time.Duration(float64(time.Second) / o.MaxFPS)
}
