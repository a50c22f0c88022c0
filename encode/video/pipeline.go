package video

import (
	"context"
	"fmt"
	"image"
	"sync"
	"sync/atomic"
	"time"

	"github.com/seed18fc72c3/vigil/encode"
)

type jobKind uint8

const (
	jobBegin jobKind = iota + 1 // open a cut: w, h, at; pix is the whole screen
	jobFrame                    // convert pix, encode a frame at at
	jobEnd                      // close the cut at at; put the video segment, then events
)

// job is one step of the encoder goroutine's work, in the order the reader decided it.
type job struct {
	kind  jobKind
	at    time.Duration
	w, h  int
	index int           // the cut's video segment index (begin)
	pix   []*image.RGBA // changed rectangles, copies of the screen (begin, frame)
	buf   []byte        // backs pix; back to the pool when converted
	// end: the companion event log and its info, put after the video segment.
	events    []byte
	eventInfo encode.SegmentInfo
}

// pipeline runs the encoder on a goroutine of its own so that the reader goroutine only applies
// damage and copies changed pixels: conversion and x264 (about 5-30 ms a frame at 1080p) and the
// sink's PutSegment never hold the ring directly. The handoff is bounded (jobDepth): a reader
// whose encoder falls further behind waits, and the ring's own slack absorbs the rest, which is
// what a lossless recorder must do. The first failure is kept; the reader checks it at every
// event and fails the session closed.
type pipeline struct {
	ctx    context.Context
	sink   encode.SegmentSink
	opts   Options
	jobs   chan job
	done   chan struct{}
	pool   sync.Pool
	bytes  atomic.Int64 // encoded bytes of the open video segment, for the SegmentBytes cut
	bad    atomic.Bool
	mu     sync.Mutex
	err    error
	segs   []encode.SegmentInfo
	onFail func(error)

	enc   *encoder // owned by the goroutine
	video encode.SegmentInfo
}

// jobDepth bounds the handoff: four frames of a full 1080p screen are 32 MiB at most.
const jobDepth = 4

func startPipeline(ctx context.Context, sink encode.SegmentSink, opts Options) *pipeline {
	p := &pipeline{ctx: ctx, sink: sink, opts: opts, jobs: make(chan job, jobDepth), done: make(chan struct{}), onFail: opts.OnFailure}
	go p.run()
	return p
}

// buffer returns a byte slice of n bytes for a job's pixels.
func (p *pipeline) buffer(n int) []byte {
	if b, ok := p.pool.Get().(*[]byte); ok && cap(*b) >= n {
		return (*b)[:n]
	}
	return make([]byte, n)
}

func (p *pipeline) release(b []byte) {
	if b != nil {
		p.pool.Put(&b)
	}
}

func (p *pipeline) send(j job) { p.jobs <- j }

func (p *pipeline) run() {
	defer close(p.done)
	defer func() {
		if p.enc != nil {
			p.enc.close()
		}
	}()
	for j := range p.jobs {
		if p.failed() == nil {
			if err := p.do(j); err != nil {
				p.fail(err)
			}
		}
		p.release(j.buf)
	}
}

func (p *pipeline) do(j job) error {
	switch j.kind {
	case jobBegin:
		if p.enc == nil || p.enc.w != (j.w+1)&^1 || p.enc.h != (j.h+1)&^1 {
			if p.enc != nil {
				p.enc.close()
				p.enc = nil
			}
			enc, err := newEncoder(j.w, j.h, p.opts)
			if err != nil {
				return err
			}
			p.enc = enc
		}
		if err := p.enc.begin(j.at); err != nil {
			return err
		}
		p.bytes.Store(0)
		p.video = encode.SegmentInfo{Index: j.index, Start: j.at, Media: encode.MediaMP4}
		return p.frame(j)
	case jobFrame:
		return p.frame(j)
	case jobEnd:
		b, err := p.enc.end(j.at)
		if err != nil {
			return err
		}
		p.video.End, p.video.Bytes, p.video.Records = j.at, len(b), p.enc.frames
		if err := p.put(p.video, b); err != nil {
			return err
		}
		return p.put(j.eventInfo, j.events)
	}
	return nil
}

func (p *pipeline) frame(j job) error {
	for _, img := range j.pix {
		if err := p.enc.update(img); err != nil {
			return err
		}
	}
	if err := p.enc.encode(j.at); err != nil {
		return err
	}
	p.bytes.Store(p.enc.bytes)
	return nil
}

func (p *pipeline) put(seg encode.SegmentInfo, b []byte) error {
	if err := p.sink.PutSegment(p.ctx, seg, b); err != nil {
		return fmt.Errorf("%w: segment %d: %w", encode.ErrSink, seg.Index, err)
	}
	p.mu.Lock()
	p.segs = append(p.segs, seg)
	p.mu.Unlock()
	return nil
}

func (p *pipeline) fail(err error) {
	p.mu.Lock()
	p.err = err
	p.mu.Unlock()
	p.bad.Store(true)
	if p.onFail != nil {
		p.onFail(err)
	}
}

// failed returns the first failure, cheaply when there is none (asked at every event).
func (p *pipeline) failed() error {
	if !p.bad.Load() {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err
}

// finish waits for every queued job and returns the segments persisted and the first failure.
func (p *pipeline) finish() ([]encode.SegmentInfo, error) {
	close(p.jobs)
	<-p.done
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.segs, p.err
}
