package video

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"github.com/asticode/go-astiav"
)

// avseekSize is FFmpeg's AVSEEK_SIZE: a seek callback asked for the stream's size.
const avseekSize = 0x10000

// memInput demuxes an MP4 held in memory through a custom AVIOContext.
type memInput struct {
	fc    *astiav.FormatContext
	ioc   *astiav.IOContext
	video *astiav.Stream
}

// openMem opens b as an MP4 with one H.264 video stream. ErrFormat if it is not one.
func openMem(b []byte) (*memInput, error) {
	rd := bytes.NewReader(b)
	m := &memInput{fc: astiav.AllocFormatContext()}
	var err error
	m.ioc, err = astiav.AllocIOContext(32<<10, false, func(p []byte) (int, error) {
		n, err := rd.Read(p)
		if n == 0 && errors.Is(err, io.EOF) {
			return 0, astiav.ErrEof
		}
		return n, nil
	}, func(off int64, whence int) (int64, error) {
		if whence&avseekSize != 0 {
			return rd.Size(), nil
		}
		return rd.Seek(off, whence&3)
	}, nil)
	if err != nil {
		m.close()
		return nil, fmt.Errorf("video: open input: %w", err)
	}
	m.fc.SetPb(m.ioc)
	if err := m.fc.OpenInput("", astiav.FindInputFormat("mp4"), nil); err != nil {
		m.fc = nil // avformat_open_input frees the context on failure
		m.close()
		return nil, fmt.Errorf("video: open input: %w: %w", ErrFormat, err)
	}
	if err := m.fc.FindStreamInfo(nil); err != nil {
		m.close()
		return nil, fmt.Errorf("video: stream info: %w: %w", ErrFormat, err)
	}
	for _, s := range m.fc.Streams() {
		if s.CodecParameters().CodecID() == astiav.CodecIDH264 {
			m.video = s
			break
		}
	}
	if m.video == nil || m.fc.NbStreams() != 1 {
		m.close()
		return nil, fmt.Errorf("video: open input: want one h264 stream: %w", ErrFormat)
	}
	return m, nil
}

func (m *memInput) close() {
	if m.fc != nil {
		m.fc.CloseInput()
		m.fc = nil
	}
	if m.ioc != nil {
		m.ioc.Free()
		m.ioc = nil
	}
}
