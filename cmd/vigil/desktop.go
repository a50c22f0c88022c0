package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"

	"github.com/asticode/go-astiav"
	"github.com/seed18fc72c3/vigil/cmd/config"
	"github.com/seed18fc72c3/vigil/cmd/gateway"
	"github.com/seed18fc72c3/vigil/encode/video"
	"github.com/seed18fc72c3/vigil/index"
	"github.com/seed18fc72c3/vigil/index/ocr"
	"github.com/seed18fc72c3/vigil/proxy/desktop"
	proxyssh "github.com/seed18fc72c3/vigil/proxy/ssh"
	"github.com/seed18fc72c3/vigil/proxy/vnc"
)

// startDesktops makes the gateway's graphical sessions (the web UI's desktops always; the native
// VNC front end when vnc.listen is set) and starts the VNC listener. wait returns once the
// listener has stopped after ctx ended and its sessions have closed their recordings.
func startDesktops(ctx context.Context, cfg config.Config, store *gateway.Recordings, acc *gateway.Access,
	audit func(proxyssh.AuditEvent), log *slog.Logger, ix *index.Index) (d *gateway.Desktops, wait func(), err error) {
	keys, err := desktop.ParseKeyPolicy(cfg.VNC.Keys)
	if err != nil {
		return nil, nil, err
	}
	ring := desktop.RingConfig()
	ring.StallTimeout = cfg.Recording.StallTimeout
	// libx264 prints its settings at every encoder start otherwise.
	astiav.SetLogLevel(astiav.LogLevelError)
	rec := &gateway.DesktopRecorder{Store: store, Log: log, Options: video.Options{
		SegmentDuration: cfg.Recording.SegmentDuration, SegmentBytes: cfg.Recording.SegmentBytes}}
	var pool *ocr.Pool
	if cfg.OCR.Enabled {
		oc := ocr.DefaultConfig()
		oc.Workers = cfg.OCR.Workers
		p, perr := ocr.Start(ctx, oc)
		if perr != nil {
			// Recording must not depend on OCR: sessions go on, unsearchable by screen text.
			log.Error("ocr: not started; graphical sessions will not be searchable by screen text", "err", perr)
		}
		pool = p
	}
	wc := ocr.DefaultWatchConfig()
	wc.Interval = cfg.OCR.Interval
	// The feed also indexes the lines typed in graphical sessions, so it runs without OCR too
	// (Pool nil: typed lines only).
	rec.OCR = &gateway.OCRFeed{Pool: pool, Index: ix, Watch: wc, Log: log}
	if pool != nil {
		// Sessions whose live OCR dropped work before a restart are read again from their video,
		// in the background, through the same bounded pool.
		go func() {
			if err := gateway.CatchUpOCR(ctx, ix, store, pool, wc); err != nil && ctx.Err() == nil {
				log.Warn("ocr catch-up", "err", err)
			}
		}()
	}
	d = &gateway.Desktops{
		Ctx:         ctx,
		Access:      acc,
		Recorder:    rec,
		Registry:    desktop.NewRegistry(),
		Keys:        keys,
		Ring:        ring,
		DialTimeout: cfg.VNC.DialTimeout,
		Clipboard:   cfg.VNC.Clipboard,
		Audit:       audit,
		Log:         log,
	}
	done := make(chan struct{})
	wait = func() {
		<-done
		// Sessions end with ctx (their parent); wait until their recordings are sealed.
		for _, l := range d.Registry.Sessions() {
			if s, err := d.Registry.Session(l.ID); err == nil {
				<-s.Done()
			}
		}
		rec.OCR.Wait()
		if pool != nil {
			pool.Stop()
		}
	}
	if cfg.VNC.Listen == "" {
		close(done)
		return d, wait, nil
	}
	ln, err := net.Listen("tcp", cfg.VNC.Listen)
	if err != nil {
		return nil, nil, fmt.Errorf("vnc listener: %w", err)
	}
	d.OTPs = vnc.NewOTPs(cfg.VNC.OTPTTL)
	d.Listen = ln.Addr().String()
	go func() {
		defer close(done)
		if err := d.ServeVNC(ctx, ln); err != nil && ctx.Err() == nil {
			log.Error("vnc front end", "err", err)
		}
	}()
	return d, wait, nil
}
