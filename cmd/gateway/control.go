package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/seed18fc72c3/vigil/cmd/config"
	"github.com/seed18fc72c3/vigil/index"
)

// ControlPath is the Unix socket where a running `vigil serve` answers the CLI (search, for now).
// It lives in the data directory, which is 0700, and is itself 0600: reaching it takes the same
// rights as reading the data directory, which is the authentication.
func ControlPath(cfg config.Config) string { return cfg.Path("vigil.sock") }

// ServeControl answers on the control socket until ctx is done. The index cannot be opened by a
// second process while serve holds it (Bleve locks it), so the CLI asks serve instead. With live
// (the SSH gateway; at most one is used), it also serves LiveHandler's /api/live routes.
func ServeControl(ctx context.Context, path string, ix *index.Index, log *slog.Logger, live ...LiveSessions) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("control socket: %w", err)
	}
	ln, err := net.Listen("unix", path)
	if err != nil {
		return fmt.Errorf("control socket: %w", err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return fmt.Errorf("control socket: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("/api/search", ix.Handler())
	if len(live) > 0 && live[0] != nil {
		mux.Handle("/api/live", LiveHandler(live[0], log))
		mux.Handle("/api/live/", LiveHandler(live[0], log))
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
	}()
	log.Info("control socket listening", "path", path)
	err = srv.Serve(ln)
	os.Remove(path)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// ControlClient is an HTTP client that reaches a running serve through its control socket.
// Requests fail at once (with a dial error) when no serve is running.
func ControlClient(cfg config.Config) *http.Client { return controlClientPath(ControlPath(cfg)) }

func controlClientPath(path string) *http.Client {
	return &http.Client{
		Timeout: time.Minute,
		Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", path)
		}},
	}
}
