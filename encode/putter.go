package encode

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"sync/atomic"
)

// putter persists finished segments on a goroutine of its own, so the recorder goes on reading
// the ring while the sink writes and fsyncs (or uploads) the previous segment. One segment waits
// at most while another is being put: the session is held back only when the sink is slower than
// the session, which is what a lossless recorder must do. The first failure is kept; the recorder
// checks it at every event and fails the session closed.
type putter struct {
	sink SegmentSink
	jobs chan putJob
	free chan *bytes.Buffer
	done chan struct{}
	mu   sync.Mutex
	err  error
	bad  atomic.Bool   // err is set: the recorder asks at every event, without the lock
	segs []SegmentInfo // persisted, in order
	ctx  context.Context
	// onFail is told of the first failure at once (see startPutter).
	onFail func(error)
}

type putJob struct {
	seg SegmentInfo
	buf *bytes.Buffer
}

// startPutter starts the goroutine. onFail, if not nil, is called (once, from that goroutine) at
// the first failure, so that a session that has gone quiet is stopped at once rather than at its
// next event.
func startPutter(ctx context.Context, sink SegmentSink, onFail func(error)) *putter {
	p := &putter{sink: sink, jobs: make(chan putJob, 1), free: make(chan *bytes.Buffer, 3), done: make(chan struct{}), ctx: ctx, onFail: onFail}
	go p.run()
	return p
}

func (p *putter) run() {
	defer close(p.done)
	for job := range p.jobs {
		if p.failed() == nil {
			err := p.sink.PutSegment(p.ctx, job.seg, job.buf.Bytes())
			p.mu.Lock()
			if err != nil {
				p.err = fmt.Errorf("%w: segment %d: %w", ErrSink, job.seg.Index, err)
				p.bad.Store(true)
			} else {
				p.segs = append(p.segs, job.seg)
			}
			failed := p.err
			p.mu.Unlock()
			if failed != nil && p.onFail != nil {
				p.onFail(failed)
			}
		}
		job.buf.Reset()
		select {
		case p.free <- job.buf:
		default:
		}
	}
}

// buffer returns an empty buffer for the next segment, reusing one the putter is done with.
func (p *putter) buffer() *bytes.Buffer {
	select {
	case b := <-p.free:
		return b
	default:
		return new(bytes.Buffer)
	}
}

// put queues a finished segment; it waits while another segment is already queued.
func (p *putter) put(seg SegmentInfo, buf *bytes.Buffer) error {
	if err := p.failed(); err != nil {
		return err
	}
	p.jobs <- putJob{seg: seg, buf: buf}
	return nil
}

func (p *putter) failed() error {
	if !p.bad.Load() {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err
}

// finish waits for every queued segment and returns those persisted and the first failure.
func (p *putter) finish() ([]SegmentInfo, error) {
	close(p.jobs)
	<-p.done
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.segs, p.err
}
