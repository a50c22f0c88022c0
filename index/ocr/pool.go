package ocr

import (
	"context"
	"fmt"
	"image"
	"log/slog"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/otiai10/gosseract/v2"
)

// Job is one screen to read.
type Job struct {
	// Screen is read by a worker after TrySubmit returns: the caller must not change it until
	// Done has been called (Watch hands over a snapshot).
	Screen *image.RGBA
	// Damage is what changed; only whole text lines around it are read. Nil means the whole screen.
	Damage []image.Rectangle
	// Done receives the lines read (in reading order) and the regions that were read, or an error
	// wrapping ErrTesseract or ErrStopped. It runs on the worker and must not block for long.
	Done func(texts []Text, regions []image.Rectangle, err error)
}

// Stats are a pool's counters since Start.
type Stats struct {
	Queued  uint64        // jobs accepted by TrySubmit or Recognize
	Done    uint64        // jobs finished (successfully or not)
	Dropped uint64        // jobs refused because the queue was full
	Waiting int           // jobs in the queue now
	CPU     time.Duration // CPU time the workers spent reading (thread time; wall time off Linux)
}

// Pool is a bounded set of OCR workers. Its methods are safe for concurrent use.
type Pool struct {
	cfg    Config
	jobs   chan Job
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	// mu orders submissions against Stop's final drain: senders hold it shared, so once Stop holds
	// it no job can enter the queue that the drain would miss.
	mu      sync.RWMutex
	stopped bool

	queued, done, dropped atomic.Uint64
	cpu                   atomic.Int64 // nanoseconds
}

// Start starts cfg.Workers workers, each with its own tesseract client, which live until Stop or
// ctx ends. It fails if cfg is invalid or tesseract cannot load cfg.Language. It logs a warning
// when OMP_THREAD_LIMIT=1 is not set (see ThreadLimitSet).
func Start(ctx context.Context, cfg Config) (*Pool, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if !ThreadLimitSet() {
		slog.Warn("ocr: OMP_THREAD_LIMIT=1 is not set in the environment; tesseract will use every core and run several times slower (set it before the process starts)")
	}
	ctx, cancel := context.WithCancel(ctx)
	p := &Pool{cfg: cfg, jobs: make(chan Job, cfg.Queue), ctx: ctx, cancel: cancel}
	ready := make(chan error, cfg.Workers)
	for range cfg.Workers {
		p.wg.Add(1)
		go p.work(ready)
	}
	for range cfg.Workers {
		if err := <-ready; err != nil {
			p.Stop()
			return nil, err
		}
	}
	return p, nil
}

// Stop ends the workers after their current job; queued jobs get ErrStopped. It waits for them.
func (p *Pool) Stop() {
	p.cancel() // first, so a Recognize blocked on a full queue lets go of mu
	p.mu.Lock()
	defer p.mu.Unlock()
	p.stopped = true
	p.wg.Wait()
	for {
		select {
		case j := <-p.jobs:
			p.finish(j, nil, nil, ErrStopped)
		default:
			return
		}
	}
}

// TrySubmit queues j without blocking. It returns false, and counts a drop, when the queue is full
// or the pool is stopped; j.Done is then not called.
func (p *Pool) TrySubmit(j Job) bool {
	p.mu.RLock()
	defer p.mu.RUnlock()
	if p.stopped || p.ctx.Err() != nil {
		p.dropped.Add(1)
		return false
	}
	select {
	case p.jobs <- j:
		p.queued.Add(1)
		return true
	default:
		p.dropped.Add(1)
		return false
	}
}

// Recognize reads screen (the lines around damage; nil damage means all of it), waiting for a
// worker. It is for offline work (reindexing stored video, tests): sessions use TrySubmit or Watch.
func (p *Pool) Recognize(ctx context.Context, screen *image.RGBA, damage []image.Rectangle) ([]Text, error) {
	type res struct {
		texts []Text
		err   error
	}
	ch := make(chan res, 1)
	j := Job{Screen: screen, Damage: damage, Done: func(t []Text, _ []image.Rectangle, err error) { ch <- res{t, err} }}
	if err := p.send(ctx, j); err != nil {
		return nil, err
	}
	select {
	case r := <-ch:
		return r.texts, r.err
	case <-ctx.Done():
		// The job still runs; its result is discarded into the buffered channel.
		return nil, fmt.Errorf("ocr: recognize: %w", ctx.Err())
	}
}

// send queues j, waiting for room.
func (p *Pool) send(ctx context.Context, j Job) error {
	p.mu.RLock()
	defer p.mu.RUnlock()
	if p.stopped {
		return fmt.Errorf("ocr: recognize: %w", ErrStopped)
	}
	select {
	case p.jobs <- j:
		p.queued.Add(1)
		return nil
	case <-ctx.Done():
		return fmt.Errorf("ocr: recognize: %w", ctx.Err())
	case <-p.ctx.Done():
		return fmt.Errorf("ocr: recognize: %w", ErrStopped)
	}
}

// Stats returns the counters.
func (p *Pool) Stats() Stats {
	return Stats{
		Queued:  p.queued.Load(),
		Done:    p.done.Load(),
		Dropped: p.dropped.Load(),
		Waiting: len(p.jobs),
		CPU:     time.Duration(p.cpu.Load()),
	}
}

func (p *Pool) finish(j Job, t []Text, regions []image.Rectangle, err error) {
	p.done.Add(1)
	if j.Done != nil {
		j.Done(t, regions, err)
	}
}

// work runs one worker. The goroutine keeps its OS thread: tesseract's state is per thread-bound
// client, and the thread's CPU clock is what Stats.CPU adds up.
func (p *Pool) work(ready chan<- error) {
	defer p.wg.Done()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	r, err := newReader(p.cfg)
	ready <- err
	if err != nil {
		return
	}
	defer r.close()
	for {
		select {
		case <-p.ctx.Done():
			return
		case j := <-p.jobs:
			t0 := threadCPU()
			texts, regions, err := r.read(j.Screen, j.Damage)
			p.cpu.Add(int64(threadCPU() - t0))
			p.finish(j, texts, regions, err)
		}
	}
}

// reader is one tesseract client and its buffers. Not safe for concurrent use.
type reader struct {
	cfg Config
	c   *gosseract.Client
	psm gosseract.PageSegMode
	buf []byte
}

func newReader(cfg Config) (*reader, error) {
	c := gosseract.NewClient()
	if err := c.SetLanguage(strings.Split(cfg.Language, "+")...); err != nil {
		c.Close()
		return nil, fmt.Errorf("ocr: language %q: %w: %v", cfg.Language, ErrTesseract, err)
	}
	if err := c.SetPageSegMode(gosseract.PSM_SINGLE_BLOCK); err != nil {
		c.Close()
		return nil, fmt.Errorf("ocr: page segmentation: %w: %v", ErrTesseract, err)
	}
	r := &reader{cfg: cfg, c: c, psm: gosseract.PSM_SINGLE_BLOCK}
	// Load the model now, on a blank image, so a bad language fails Start, not the first job.
	blank := image.NewRGBA(image.Rect(0, 0, 16, 16))
	if _, err := r.block(blank, block{Rectangle: blank.Bounds()}); err != nil {
		c.Close()
		return nil, err
	}
	return r, nil
}

func (r *reader) close() { r.c.Close() }

// read finds the text regions around damage in screen and reads them block by block.
func (r *reader) read(screen *image.RGBA, damage []image.Rectangle) ([]Text, []image.Rectangle, error) {
	b := screen.Bounds()
	if damage == nil {
		damage = []image.Rectangle{b}
	}
	var area image.Rectangle
	for _, d := range damage {
		area = area.Union(d.Intersect(b))
	}
	if area.Empty() {
		return nil, nil, nil
	}
	g := toGray(screen, image.Rectangle{
		Min: area.Min.Sub(image.Pt(maxGrowX+padding, maxGrowY+padding)),
		Max: area.Max.Add(image.Pt(maxGrowX+padding, maxGrowY+padding)),
	}.Intersect(b))
	grown := make([]image.Rectangle, 0, len(damage))
	for _, d := range damage {
		grown = append(grown, grow(g, d))
	}
	regions := mergeRects(grown, padding)
	var out []Text
	for _, reg := range regions {
		for _, blk := range blocks(g, reg) {
			t, err := r.block(screen, blk)
			if err != nil {
				return out, regions, err
			}
			out = append(out, t...)
		}
	}
	return out, regions, nil
}

// block reads one block of g and maps tesseract's word boxes back to screen coordinates.
func (r *reader) block(screen *image.RGBA, b block) ([]Text, error) {
	blk := b.Rectangle
	scale := r.cfg.Scale
	// One line of text (most blocks) is read as a line: tesseract's layout analysis then cannot
	// merge it with anything. Taller blocks (a framed box, lines that touch) get block layout.
	psm := gosseract.PSM_SINGLE_LINE
	if b.multi {
		psm = gosseract.PSM_SINGLE_BLOCK
	}
	if psm != r.psm {
		if err := r.c.SetPageSegMode(psm); err != nil {
			return nil, fmt.Errorf("ocr: page segmentation: %w: %v", ErrTesseract, err)
		}
		r.psm = psm
	}
	r.buf = prepare(r.buf, screen, blk, scale)
	if err := r.c.SetImageFromBytes(r.buf); err != nil {
		return nil, fmt.Errorf("ocr: set image %v: %w: %v", blk, ErrTesseract, err)
	}
	words, err := r.c.GetBoundingBoxesVerbose()
	if err != nil {
		return nil, fmt.Errorf("ocr: read %v: %w: %v", blk, ErrTesseract, err)
	}
	return lines(words, blk.Min.Sub(image.Pt(4, 4)), scale, r.cfg.MinConfidence), nil
}

// lines groups words into lines, in reading order, scaling boxes back to the screen.
func lines(words []gosseract.BoundingBox, origin image.Point, scale int, minConf float64) []Text {
	var out []Text
	var words0 []string
	var conf float64
	key := [3]int{-1}
	flush := func() {
		if len(words0) > 0 {
			out[len(out)-1].Text = strings.Join(words0, " ")
			out[len(out)-1].Confidence = conf / float64(len(words0))
		}
		words0, conf = words0[:0], 0
	}
	for _, w := range words {
		word := fixDigits(strings.TrimSpace(w.Word))
		if word == "" || w.Confidence < minConf {
			continue
		}
		box := image.Rectangle{Min: w.Box.Min.Div(scale), Max: w.Box.Max.Add(image.Pt(scale-1, scale-1)).Div(scale)}.Add(origin)
		k := [3]int{w.BlockNum, w.ParNum, w.LineNum}
		if k != key || len(out) == 0 {
			flush()
			out = append(out, Text{Rect: box})
			key = k
		}
		out[len(out)-1].Rect = out[len(out)-1].Rect.Union(box)
		words0 = append(words0, word)
		conf += w.Confidence
	}
	flush()
	return out
}

// fixDigits reads an O next to a digit as a zero: screen fonts draw them alike (only some slash
// or dot the zero), and host names, versions and ids mix them ("db01", "10.0.4.17").
func fixDigits(w string) string {
	if !strings.ContainsAny(w, "Oo") || !strings.ContainsAny(w, "0123456789") {
		return w
	}
	b := []byte(w)
	digit := func(i int) bool { return i >= 0 && i < len(b) && b[i] >= '0' && b[i] <= '9' }
	for i, c := range b {
		if (c == 'O' || c == 'o') && (digit(i-1) || digit(i+1)) {
			b[i] = '0'
		}
	}
	return string(b)
}
