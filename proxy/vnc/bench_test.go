package vnc

import (
	"bufio"
	"bytes"
	"image"
	"testing"
)

// BenchmarkDecode measures decoding one full-screen 1024x768 update per op, for each encoding
// and kind of content; ns/Mpx is the figure to compare (DESIGN.md: ratios within one run).
func BenchmarkDecode(b *testing.B) {
	const w, h = 1024, 768
	for _, enc := range []struct {
		name string
		e    Encoding
	}{{"raw", EncodingRaw}, {"hextile", EncodingHextile}, {"zrle", EncodingZRLE}} {
		for _, kind := range []string{"noise", "hundred", "sixteen", "stripes"} {
			b.Run(enc.name+"/"+kind, func(b *testing.B) {
				// A few different frames in one stream, as a server would send them.
				z := newZRLEEncoder()
				var stream []byte
				const frames = 4
				for i := range frames {
					stream = append(stream, encodeWith(enc.e, testImage(kind, w, h, uint64(i)), z)...)
				}
				opts := Options{}.withDefaults()
				br := bufio.NewReaderSize(bytes.NewReader(stream), 64<<10)
				d := newDecoder(br, image.NewRGBA(image.Rect(0, 0, w, h)), &opts)
				b.SetBytes(w * h * 4)
				b.ReportAllocs()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					if i%frames == 0 && i > 0 {
						b.StopTimer()
						br.Reset(bytes.NewReader(stream))
						// The encoder's zlib stream starts again; the buffers stay, as they
						// would on one long connection.
						d.zrle.src.buf, d.zrle.src.off, d.zrle.zr = d.zrle.src.buf[:0], 0, nil
						if d.zrle.br != nil {
							d.zrle.br.Reset(&d.zrle.lim)
						}
						b.StartTimer()
					}
					if _, _, err := d.message(); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/(w*h/1e6), "ns/Mpx")
			})
		}
	}
	b.Run("copyrect/scroll", func(b *testing.B) {
		var m bytes.Buffer
		updateHeader(&m, 1)
		rectHeader(&m, image.Rect(0, 0, w, h-16), EncodingCopyRect)
		m.Write([]byte{0, 0, 0, 16})
		msg := m.Bytes()
		opts := Options{}.withDefaults()
		r := bytes.NewReader(msg)
		br := bufio.NewReader(r)
		d := newDecoder(br, image.NewRGBA(image.Rect(0, 0, w, h)), &opts)
		b.SetBytes(w * (h - 16) * 4)
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			r.Reset(msg)
			br.Reset(r)
			if _, _, err := d.message(); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/(w*(h-16)/1e6), "ns/Mpx")
	})
}
