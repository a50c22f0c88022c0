package video

/*
#cgo pkg-config: libavutil
#include <libavutil/frame.h>
*/
import "C"

import (
	"fmt"
	"unsafe"

	"github.com/asticode/go-astiav"
)

// framePlanes gives Go access to a yuv420p AVFrame's planes, which go-astiav 0.16 exposes only as
// copies. writable first makes the frame's buffer unshared (av_frame_make_writable copies it if an
// encoder still holds a reference), so in-place updates of the changed rectangles never touch a
// picture the encoder is reading.
func framePlanes(f *astiav.Frame, writable bool) (yuvPlanes, error) {
	c := (*C.AVFrame)(f.UnsafePointer())
	if writable {
		if ret := C.av_frame_make_writable(c); ret < 0 {
			return yuvPlanes{}, fmt.Errorf("make frame writable: %w", astiav.Error(ret))
		}
	}
	h := int(c.height)
	ch := (h + 1) / 2
	p := yuvPlanes{w: int(c.width), h: h, yStride: int(c.linesize[0]), cStride: int(c.linesize[1])}
	if p.yStride <= 0 || p.cStride <= 0 || p.cStride != int(c.linesize[2]) || c.data[0] == nil {
		return yuvPlanes{}, fmt.Errorf("frame planes: unexpected layout: %w", ErrFormat)
	}
	p.y = unsafe.Slice((*byte)(unsafe.Pointer(c.data[0])), p.yStride*h)
	p.u = unsafe.Slice((*byte)(unsafe.Pointer(c.data[1])), p.cStride*ch)
	p.v = unsafe.Slice((*byte)(unsafe.Pointer(c.data[2])), p.cStride*ch)
	return p, nil
}
