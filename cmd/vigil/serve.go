package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"

	"github.com/seed18fc72c3/vigil/audit"
	"github.com/seed18fc72c3/vigil/capture"
	"github.com/seed18fc72c3/vigil/cmd/config"
	"github.com/seed18fc72c3/vigil/cmd/gateway"
	"github.com/seed18fc72c3/vigil/cmd/nodekeys"
	"github.com/seed18fc72c3/vigil/encode"
	"github.com/seed18fc72c3/vigil/index"
	proxyssh "github.com/seed18fc72c3/vigil/proxy/ssh"
	"github.com/spf13/cobra"
	"golang.org/x/crypto/ssh"
)

func init() { register(newServeCmd) }

func newServeCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "serve",
		Short: "Run the gateway: the SSH front end, the recorder and the store",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(cmd)
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return serve(ctx, cfg, newLogger(cfg, cmd.ErrOrStderr()))
		},
	}
	c.Flags().String("vnc-listen", "", "VNC front end listen address (default off)")
	return c
}

// serve runs the gateway until ctx is done.
func serve(ctx context.Context, cfg config.Config, log *slog.Logger) error {
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return fmt.Errorf("data directory: %w", err)
	}
	keys, err := nodekeys.Ensure(cfg.Path("keys"))
	if err != nil {
		return err
	}
	for _, f := range keys.Created {
		log.Info("made node key", "file", f)
	}
	log.Info("node keys", "ssh_host_key", ssh.FingerprintSHA256(keys.Host.PublicKey()), "age_recipient", keys.Age.Recipient().String())
	store, err := gateway.OpenRecordingsContext(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer store.Close()
	ix, err := index.Open(cfg.Path("index"))
	if err != nil {
		return err
	}
	defer ix.Close()
	auth, policy, err := gateway.OpenAccess(cfg, log)
	if err != nil {
		return err
	}
	auditLog, err := audit.Open(gateway.AuditPath(cfg))
	if err != nil {
		return err
	}
	defer auditLog.Close()
	ring := capture.DefaultConfig()
	ring.ArenaBytes = cfg.Recording.RingBytes
	// 16Ki events cover the arena at any read size above 64 bytes; the index costs 40 B a slot
	// per session, so the capture default (64Ki) would cost 2.5 MiB for each of hundreds of sessions.
	ring.Records = 16 << 10
	ring.StallTimeout = cfg.Recording.StallTimeout
	sc := proxyssh.DefaultConfig()
	sc.HostSigner = keys.Host
	sc.Banner = cfg.SSH.Banner
	if sc.Banner != "" && sc.Banner[len(sc.Banner)-1] != '\n' {
		sc.Banner += "\n"
	}
	sc.DialTimeout = cfg.SSH.DialTimeout
	sc.IdleTimeout = cfg.SSH.IdleTimeout
	sc.Auth, sc.Policy = auth, policy
	indexing := &gateway.IndexingRecorder{Index: ix, Store: store, Log: log,
		Recorder: &gateway.Recorder{Store: store, Log: log, Options: encode.Options{
			SegmentDuration: cfg.Recording.SegmentDuration, SegmentBytes: cfg.Recording.SegmentBytes,
		}}}
	// Sessions whose live indexing fell behind before a restart are indexed from their recordings.
	go func() {
		if err := indexing.CatchUp(ctx); err != nil && ctx.Err() == nil {
			log.Warn("index catch-up", "err", err)
		}
	}()
	defer indexing.Wait()
	sc.Recorder = indexing
	sc.Ring = ring
	sc.Logger = log
	sc.Audit = auditTo(auditLog, log)
	sc.NewScreen = gateway.NewScreen
	srv, err := proxyssh.NewServer(sc)
	if err != nil {
		return err
	}
	// Graphical sessions (desktop.go): the web UI's, and VNC viewers' when vnc.listen is set.
	desk, waitDesk, err := startDesktops(ctx, cfg, store, auth, sc.Audit, log, ix)
	if err != nil {
		return err
	}
	defer waitDesk()
	live := &gateway.GatewayLive{Server: srv, Desktops: desk}
	// The CLI's way in: search, and live sessions (list, shadow, pause, resume, terminate).
	go func() {
		if err := gateway.ServeControl(ctx, gateway.ControlPath(cfg), ix, log, live); err != nil {
			log.Error("control socket", "err", err)
		}
	}()
	waitWeb, err := startWeb(ctx, cfg, store, auth.Store, ix, auditLog, log, live)
	if err != nil {
		return err
	}
	defer waitWeb()
	// The SSH listener comes last: the line saying it listens means the gateway is ready.
	ln, err := net.Listen("tcp", cfg.SSH.Listen)
	if err != nil {
		return fmt.Errorf("ssh listener: %w", err)
	}
	where := cfg.StoreDir()
	if cfg.Storage.Backend == "s3" {
		where = "s3://" + cfg.Storage.S3.Bucket + "/" + cfg.Storage.S3.Prefix + " via spool " + cfg.SpoolDir()
	}
	log.Info("ssh gateway listening", "addr", ln.Addr().String(), "data_dir", cfg.DataDir, "store", where)
	err = srv.Serve(ctx, ln)
	if errors.Is(err, context.Canceled) || ctx.Err() != nil {
		log.Info("gateway stopped")
		return nil
	}
	return err
}

func newLogger(cfg config.Config, w interface{ Write([]byte) (int, error) }) *slog.Logger {
	var lvl slog.Level
	_ = lvl.UnmarshalText([]byte(cfg.Log.Level))
	opts := &slog.HandlerOptions{Level: lvl}
	if cfg.Log.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// auditTo appends the gateway's audit events to the audit log, and logs them too. An event that
// cannot be appended is logged as an error: the gateway keeps serving, since refusing every login
// because the audit disk is full would lock out the administrators who must fix it.
func auditTo(l *audit.Log, log *slog.Logger) func(proxyssh.AuditEvent) {
	return func(e proxyssh.AuditEvent) {
		ev := audit.Event{Time: e.Time, Kind: e.Kind, User: e.User, Target: e.Target, Session: e.Session,
			Remote: e.Remote, Method: e.Method, Detail: e.Detail, Actor: e.Actor}
		if e.Cause != nil {
			ev.Cause = e.Cause.Error()
		}
		attrs := []any{"kind", ev.Kind, "user", ev.User, "remote", ev.Remote}
		for _, kv := range [][2]string{{"session", ev.Session}, {"target", ev.Target}, {"method", ev.Method}, {"detail", ev.Detail}, {"cause", ev.Cause}} {
			if kv[1] != "" {
				attrs = append(attrs, kv[0], kv[1])
			}
		}
		log.Info("audit", attrs...)
		if err := l.Append(ev); err != nil {
			log.Error("audit log append failed", "err", err, "kind", ev.Kind)
		}
	}
}
