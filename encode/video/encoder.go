package video

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"strconv"
	"time"

	"github.com/asticode/go-astiav"
)

// msBase is the encoder's time base: frame times are whole milliseconds on the session clock.
var msBase = astiav.NewRational(1, 1000)

// mpegBase is the MP4 track's time base (FORMAT.md).
var mpegBase = astiav.NewRational(1, 90000)

// encoder turns screens into one video segment at a time: libx264 (one instance for as long as the
// desktop keeps its size, so rate control carries across cuts) and, per segment, an MP4 muxer that
// writes into memory. It is owned by one goroutine.
type encoder struct {
	w, h     int // encoded (even) size
	cc       *astiav.CodecContext
	frame    *astiav.Frame
	pkt      *astiav.Packet
	held     *astiav.Packet // the last packet, waiting for its duration (the next pts or the end)
	hasHeld  bool
	planes   yuvPlanes
	mux      *astiav.FormatContext
	ioc      *astiav.IOContext
	st       *astiav.Stream
	buf      *bytes.Buffer
	start    time.Duration // the open segment's
	last     time.Duration // pts of the last frame sent
	frames   int           // in the open segment
	bytes    int64         // of the open segment's packets (the muxer holds them until the end)
	keyFirst bool          // the next frame must be an IDR
}

// newEncoder opens libx264 for a w x h desktop (padded to even sides).
func newEncoder(w, h int, o Options) (*encoder, error) {
	codec := astiav.FindEncoderByName("libx264")
	if codec == nil {
		return nil, fmt.Errorf("%w: libx264 not available in this FFmpeg", ErrEncode)
	}
	e := &encoder{w: (w + 1) &^ 1, h: (h + 1) &^ 1}
	e.cc = astiav.AllocCodecContext(codec)
	if e.cc == nil {
		return nil, fmt.Errorf("%w: alloc codec context", ErrEncode)
	}
	e.cc.SetWidth(e.w)
	e.cc.SetHeight(e.h)
	e.cc.SetPixelFormat(astiav.PixelFormatYuv420P)
	e.cc.SetTimeBase(msBase)
	// Keyframes come only where a segment starts (forced); a long GOP otherwise.
	e.cc.SetGopSize(1 << 20)
	// One thread per session: sessions run in parallel, and a per-session figure of CPU is what
	// capacity planning needs.
	e.cc.SetThreadCount(1)
	// MP4 wants SPS/PPS in avcC, not in-band.
	e.cc.SetFlags(e.cc.Flags().Add(astiav.CodecContextFlagGlobalHeader))
	d := astiav.NewDictionary()
	defer d.Free()
	for _, kv := range [][2]string{
		{"preset", o.Preset},
		// zerolatency: no B-frames and no lookahead, so every frame's packet comes out at once and
		// decode order is presentation order; stillimage: measured 3% smaller keyframes of
		// desktop text than zerolatency alone at the same PSNR.
		{"tune", "stillimage,zerolatency"},
		{"crf", strconv.Itoa(o.CRF)},
		{"forced-idr", "1"},
		// qcomp=1: constant quality across frames (Options.CRF). ipratio=1.0: a keyframe at the
		// quality of the frames after it, not 1.4x better: a screen recording's keyframes are there
		// for seeking (one every segment), not for scene changes, and they were most of a quiet
		// desktop's bytes (70 -> 61 MB/hour at 1080p, BenchmarkSessionHour). The range is limited (TV), the
		// default of libavcodec's libx264 for yuv420p: x264-params has no "range" key.
		{"x264-params", "colorprim=bt709:transfer=bt709:colormatrix=bt709:qcomp=1:ipratio=1.0"},
	} {
		if err := d.Set(kv[0], kv[1], 0); err != nil {
			e.close()
			return nil, fmt.Errorf("%w: option %s: %w", ErrEncode, kv[0], err)
		}
	}
	if err := e.cc.Open(codec, d); err != nil {
		e.close()
		return nil, fmt.Errorf("%w: open libx264 %dx%d: %w", ErrEncode, e.w, e.h, err)
	}
	e.frame = astiav.AllocFrame()
	e.frame.SetWidth(e.w)
	e.frame.SetHeight(e.h)
	e.frame.SetPixelFormat(astiav.PixelFormatYuv420P)
	if err := e.frame.AllocBuffer(32); err != nil {
		e.close()
		return nil, fmt.Errorf("%w: alloc frame: %w", ErrEncode, err)
	}
	if err := e.frame.ImageFillBlack(); err != nil {
		e.close()
		return nil, fmt.Errorf("%w: clear frame: %w", ErrEncode, err)
	}
	e.pkt = astiav.AllocPacket()
	e.held = astiav.AllocPacket()
	return e, nil
}

// update converts the changed pixels in src (a rectangle of the screen, starting at even
// coordinates) into the encoder's picture.
func (e *encoder) update(src *image.RGBA) error {
	p, err := framePlanes(e.frame, true)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrEncode, err)
	}
	e.planes = p
	e.planes.convert(src)
	return nil
}

// begin opens a segment at session time at; its first frame will be an IDR.
func (e *encoder) begin(at time.Duration) error {
	e.buf = new(bytes.Buffer)
	e.start, e.last, e.frames, e.bytes, e.keyFirst = at, at-time.Millisecond, 0, 0, true
	var err error
	if e.mux, err = astiav.AllocOutputFormatContext(nil, "mp4", ""); err != nil {
		return fmt.Errorf("%w: alloc muxer: %w", ErrEncode, err)
	}
	buf := e.buf
	e.ioc, err = astiav.AllocIOContext(64<<10, true, nil, nil, func(b []byte) (int, error) {
		return buf.Write(b)
	})
	if err != nil {
		e.freeMux()
		return fmt.Errorf("%w: alloc io: %w", ErrEncode, err)
	}
	e.mux.SetPb(e.ioc)
	e.st = e.mux.NewStream(nil)
	if err := e.st.CodecParameters().FromCodecContext(e.cc); err != nil {
		e.freeMux()
		return fmt.Errorf("%w: stream parameters: %w", ErrEncode, err)
	}
	e.st.SetTimeBase(mpegBase)
	d := astiav.NewDictionary()
	defer d.Free()
	// frag_discont with avoid_negative_ts disabled keeps the session clock in tfdt; without them
	// FFmpeg shifts every segment to start at 0 (FORMAT.md "The session clock").
	_ = d.Set("movflags", "empty_moov+default_base_moof+frag_keyframe+frag_discont", 0)
	_ = d.Set("avoid_negative_ts", "disabled", 0)
	if err := e.mux.WriteHeader(d); err != nil {
		e.freeMux()
		return fmt.Errorf("%w: write mp4 header: %w", ErrEncode, err)
	}
	return nil
}

// encode sends the current picture as the frame shown from session time at (rounded to the
// millisecond, and kept after the previous frame).
func (e *encoder) encode(at time.Duration) error {
	at = max(at.Round(time.Millisecond), e.last+time.Millisecond)
	e.frame.SetPts(at.Milliseconds())
	if e.keyFirst {
		e.frame.SetPictureType(astiav.PictureTypeI)
	} else {
		e.frame.SetPictureType(astiav.PictureTypeNone)
	}
	if err := e.cc.SendFrame(e.frame); err != nil {
		return fmt.Errorf("%w: send frame: %w", ErrEncode, err)
	}
	e.last, e.keyFirst = at, false
	e.frames++
	return e.drain()
}

// drain writes the packets the encoder has ready.
func (e *encoder) drain() error {
	for {
		if err := e.cc.ReceivePacket(e.pkt); err != nil {
			if errors.Is(err, astiav.ErrEagain) || errors.Is(err, astiav.ErrEof) {
				return nil
			}
			return fmt.Errorf("%w: receive packet: %w", ErrEncode, err)
		}
		e.bytes += int64(e.pkt.Size())
		e.pkt.RescaleTs(msBase, e.st.TimeBase())
		if err := e.writeHeld(e.pkt.Pts()); err != nil {
			return err
		}
		e.held.MoveRef(e.pkt)
		e.hasHeld = true
	}
}

// writeHeld writes the held packet, lasting until next (in the stream's time base).
func (e *encoder) writeHeld(next int64) error {
	if !e.hasHeld {
		return nil
	}
	e.hasHeld = false
	e.held.SetDuration(max(next-e.held.Pts(), 1))
	e.held.SetStreamIndex(e.st.Index())
	err := e.mux.WriteFrame(e.held)
	e.held.Unref()
	if err != nil {
		return fmt.Errorf("%w: write packet: %w", ErrEncode, err)
	}
	return nil
}

// end closes the open segment at session time at and returns its bytes.
func (e *encoder) end(at time.Duration) ([]byte, error) {
	end := astiav.RescaleQ(max(at.Round(time.Millisecond), e.last+time.Millisecond).Milliseconds(), msBase, e.st.TimeBase())
	err := e.writeHeld(end)
	if err == nil {
		if werr := e.mux.WriteTrailer(); werr != nil {
			err = fmt.Errorf("%w: write mp4 trailer: %w", ErrEncode, werr)
		}
	}
	if err == nil {
		e.ioc.Flush()
	}
	e.freeMux()
	if err != nil {
		return nil, err
	}
	b := e.buf.Bytes()
	e.buf = nil
	return b, nil
}

func (e *encoder) freeMux() {
	if e.mux != nil {
		e.mux.Free()
		e.mux = nil
	}
	if e.ioc != nil {
		e.ioc.Free()
		e.ioc = nil
	}
	e.st = nil
}

// close frees everything; the open segment, if any, is lost.
func (e *encoder) close() {
	e.freeMux()
	if e.pkt != nil {
		e.pkt.Free()
	}
	if e.held != nil {
		e.held.Free()
	}
	if e.frame != nil {
		e.frame.Free()
	}
	if e.cc != nil {
		e.cc.Free()
	}
}
