package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/seed18fc72c3/vigil/access"
	"github.com/seed18fc72c3/vigil/audit"
	"github.com/seed18fc72c3/vigil/cmd/config"
	"github.com/seed18fc72c3/vigil/cmd/gateway"
	"github.com/seed18fc72c3/vigil/index"
)

// startWeb serves the auditors' web UI on cfg.Web.Listen until ctx is done; the returned wait
// blocks until the server has shut down. serve calls it after opening the store, the index, the
// access store and the audit log; live is the SSH gateway, for the live pages:
//
//	waitWeb, err := startWeb(ctx, cfg, store, auth.Store, ix, auditLog, log, srv)
//	if err != nil { return err }
//	defer waitWeb()
func startWeb(ctx context.Context, cfg config.Config, rec *gateway.Recordings, store *access.Store, ix *index.Index, auditLog *audit.Log, log *slog.Logger, live ...gateway.LiveSessions) (wait func(), err error) {
	// Plain HTTP: the cookie is not marked Secure. Put a TLS-terminating proxy in front for
	// anything but loopback; a TLS listener of our own is for later.
	h, err := gateway.NewWebServer(cfg, rec, store, ix, auditLog, log, false, live...)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", cfg.Web.Listen)
	if err != nil {
		return nil, fmt.Errorf("web listener: %w", err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute,
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	log.Info("web UI listening", "addr", ln.Addr().String())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("web UI", "err", err)
		}
	}()
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	return func() { <-done }, nil
}
