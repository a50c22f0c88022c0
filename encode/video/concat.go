package video

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/draw"
	"io"
	"time"

	"github.com/asticode/go-astiav"
)

// Concat joins a recording's video segments, in order, into one MP4 that plays anywhere: a plain
// (not fragmented) MP4 with its index first ("faststart"), timestamps shifted so the first
// segment starts at 0, and the segments' frames kept as they are (no re-encoding) when they all
// have one size. Segments of several sizes (the desktop was resized) are decoded and re-encoded
// onto a canvas of the largest size, top-left aligned, since one H.264 track has one size.
//
// The output is built in memory (about the size of the segments) because an MP4's index is
// written after its data; evidence exports are bounded by a session's recording.
func Concat(w io.Writer, segs []io.Reader) error {
	if len(segs) == 0 {
		return fmt.Errorf("video: concat: no segments: %w", ErrFormat)
	}
	var data [][]byte
	for i, r := range segs {
		b, err := io.ReadAll(r)
		if err != nil {
			return fmt.Errorf("video: concat: read segment %d: %w", i, err)
		}
		data = append(data, b)
	}
	same, err := sameStream(data)
	if err != nil {
		return err
	}
	if !same {
		one, err := reencode(data)
		if err != nil {
			return err
		}
		data = [][]byte{one}
	}
	var out memFile
	if err := remux(&out, data); err != nil {
		return err
	}
	b, err := faststart(out.b)
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}

// sameStream reports whether all segments have the same size and parameter sets, so that their
// packets can go into one track unchanged.
func sameStream(data [][]byte) (bool, error) {
	var first *astiav.CodecParameters
	var extra []byte
	same := true
	for i, b := range data {
		in, err := openMem(b)
		if err != nil {
			return false, fmt.Errorf("video: concat: segment %d: %w", i, err)
		}
		cp := in.video.CodecParameters()
		if first == nil {
			first = astiav.AllocCodecParameters()
			if err := cp.Copy(first); err != nil {
				in.close()
				first.Free()
				return false, fmt.Errorf("video: concat: %w", err)
			}
			extra = bytes.Clone(cp.ExtraData())
		} else if cp.Width() != first.Width() || cp.Height() != first.Height() || !bytes.Equal(cp.ExtraData(), extra) {
			same = false
		}
		in.close()
	}
	first.Free()
	return same, nil
}

// remux copies the packets of data's segments into one progressive MP4 written to out.
func remux(out *memFile, data [][]byte) error {
	fc, err := astiav.AllocOutputFormatContext(nil, "mp4", "")
	if err != nil {
		return fmt.Errorf("video: concat: alloc muxer: %w", err)
	}
	defer fc.Free()
	ioc, err := astiav.AllocIOContext(64<<10, true, out.Read, out.Seek, out.Write)
	if err != nil {
		return fmt.Errorf("video: concat: alloc io: %w", err)
	}
	defer ioc.Free()
	fc.SetPb(ioc)
	var st *astiav.Stream
	var base int64 // the first segment's first pts, in the output's time base
	pkt, held := astiav.AllocPacket(), astiav.AllocPacket()
	defer pkt.Free()
	defer held.Free()
	hasHeld := false
	var lastDts int64 = -1
	for i, b := range data {
		in, err := openMem(b)
		if err != nil {
			return fmt.Errorf("video: concat: segment %d: %w", i, err)
		}
		if st == nil {
			st = fc.NewStream(nil)
			if err := in.video.CodecParameters().Copy(st.CodecParameters()); err != nil {
				in.close()
				return fmt.Errorf("video: concat: %w", err)
			}
			st.CodecParameters().SetCodecTag(0)
			st.SetTimeBase(mpegBase)
			if err := fc.WriteHeader(nil); err != nil {
				in.close()
				return fmt.Errorf("video: concat: write header: %w", err)
			}
			base = -1
		}
		// Packets read from a fragment carry no duration; each runs to the next, and a segment's
		// last to the segment's end, so the output's duration is the recording's.
		segEnd := astiav.RescaleQ(in.fc.Duration(), astiav.NewRational(1, 1000000), st.TimeBase())
		for {
			err := in.fc.ReadFrame(pkt)
			if errors.Is(err, astiav.ErrEof) {
				break
			}
			if err != nil {
				in.close()
				return fmt.Errorf("video: concat: segment %d: read: %w: %w", i, ErrFormat, err)
			}
			pkt.RescaleTs(in.video.TimeBase(), st.TimeBase())
			if base < 0 {
				base = pkt.Dts()
			}
			pkt.SetPts(pkt.Pts() - base)
			pkt.SetDts(pkt.Dts() - base)
			if pkt.Dts() <= lastDts { // overlapping segments: keep time moving forward
				d := lastDts + 1 - pkt.Dts()
				pkt.SetDts(pkt.Dts() + d)
				pkt.SetPts(pkt.Pts() + d)
			}
			lastDts = pkt.Dts()
			pkt.SetStreamIndex(st.Index())
			pkt.SetPos(-1)
			if err := writeHeldPacket(fc, held, &hasHeld, pkt.Dts()); err != nil {
				in.close()
				return err
			}
			held.MoveRef(pkt)
			hasHeld = true
		}
		if err := writeHeldPacket(fc, held, &hasHeld, segEnd-base); err != nil {
			in.close()
			return err
		}
		in.close()
	}
	if err := fc.WriteTrailer(); err != nil {
		return fmt.Errorf("video: concat: write trailer: %w", err)
	}
	ioc.Flush()
	return nil
}

// writeHeldPacket writes the held packet, if any, lasting until next.
func writeHeldPacket(fc *astiav.FormatContext, held *astiav.Packet, has *bool, next int64) error {
	if !*has {
		return nil
	}
	*has = false
	held.SetDuration(max(next-held.Dts(), 1))
	err := fc.WriteFrame(held)
	held.Unref()
	if err != nil {
		return fmt.Errorf("video: concat: write: %w", err)
	}
	return nil
}

// reencode decodes every segment and encodes its frames, at their times, onto a canvas of the
// largest segment's size: one fragmented MP4 segment for remux.
func reencode(data [][]byte) ([]byte, error) {
	var size image.Point
	for i, b := range data {
		in, err := openMem(b)
		if err != nil {
			return nil, fmt.Errorf("video: concat: segment %d: %w", i, err)
		}
		cp := in.video.CodecParameters()
		size = image.Pt(max(size.X, cp.Width()), max(size.Y, cp.Height()))
		in.close()
	}
	enc, err := newEncoder(size.X, size.Y, DefaultOptions())
	if err != nil {
		return nil, err
	}
	defer enc.close()
	canvas := image.NewRGBA(image.Rect(0, 0, size.X, size.Y))
	started := false
	var end time.Duration
	for i, b := range data {
		segEnd, err := decodeFrames(b, func(p *yuvPlanes, at time.Duration) error {
			if !started {
				if err := enc.begin(at); err != nil {
					return err
				}
				started = true
			}
			img := p.toRGBA(p.w, p.h)
			draw.Draw(canvas, canvas.Bounds(), image.Black, image.Point{}, draw.Src)
			draw.Draw(canvas, img.Bounds(), img, image.Point{}, draw.Src)
			if err := enc.update(canvas); err != nil {
				return err
			}
			return enc.encode(at)
		})
		if err != nil {
			return nil, fmt.Errorf("video: concat: segment %d: %w", i, err)
		}
		end = max(end, segEnd)
	}
	if !started {
		return nil, fmt.Errorf("video: concat: no frames: %w", ErrFormat)
	}
	return enc.end(end)
}

// memFile is an in-memory file for a muxer that seeks back to patch sizes and reads back to move
// its index first.
type memFile struct {
	b   []byte
	off int64
}

func (m *memFile) Write(p []byte) (int, error) {
	if end := m.off + int64(len(p)); end > int64(len(m.b)) {
		m.b = append(m.b, make([]byte, end-int64(len(m.b)))...)
	}
	copy(m.b[m.off:], p)
	m.off += int64(len(p))
	return len(p), nil
}

func (m *memFile) Read(p []byte) (int, error) {
	if m.off >= int64(len(m.b)) {
		return 0, astiav.ErrEof
	}
	n := copy(p, m.b[m.off:])
	m.off += int64(n)
	return n, nil
}

func (m *memFile) Seek(off int64, whence int) (int64, error) {
	if whence&avseekSize != 0 {
		return int64(len(m.b)), nil
	}
	switch whence & 3 {
	case io.SeekStart:
	case io.SeekCurrent:
		off += m.off
	case io.SeekEnd:
		off += int64(len(m.b))
	}
	if off < 0 {
		return 0, fmt.Errorf("video: seek to %d", off)
	}
	m.off = off
	return off, nil
}
