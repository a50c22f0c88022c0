package gateway

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/seed18fc72c3/vigil/cmd/config"
	"github.com/seed18fc72c3/vigil/storage"
	"github.com/seed18fc72c3/vigil/storage/file"
	"github.com/seed18fc72c3/vigil/storage/s3"
	"github.com/seed18fc72c3/vigil/storage/spool"
)

// Backend is a storage backend with what it holds open.
type Backend interface {
	storage.Backend
	Close() error
}

// OpenBackend opens the store cfg names: the file backend, or an S3 bucket behind a local spool,
// so a segment is durable on local disk when PutSegment returns and is uploaded in order in the
// background; while the bucket is unreachable segments wait in the spool, and when the spool is
// full, puts fail and sessions end (fail closed).
func OpenBackend(ctx context.Context, cfg config.Config, log *slog.Logger) (Backend, error) {
	switch cfg.Storage.Backend {
	case "file":
		b, err := file.New(cfg.StoreDir())
		if err != nil {
			return nil, fmt.Errorf("open store %s: %w", cfg.StoreDir(), err)
		}
		return b, nil
	case "s3":
		remote, err := OpenS3(ctx, cfg)
		if err != nil {
			return nil, err
		}
		local, err := file.New(cfg.SpoolDir())
		if err != nil {
			return nil, fmt.Errorf("open spool %s: %w", cfg.SpoolDir(), err)
		}
		sp, err := spool.New(local, remote, spool.Options{MaxBytes: cfg.Storage.Spool.MaxBytes, Logger: log})
		if err != nil {
			local.Close()
			return nil, err
		}
		return &spooled{Spool: sp, local: local}, nil
	}
	return nil, fmt.Errorf("storage.backend %q: must be file or s3", cfg.Storage.Backend)
}

// OpenS3 opens the S3 bucket of cfg directly (no spool), for commands such as legal-hold.
func OpenS3(ctx context.Context, cfg config.Config) (*s3.Backend, error) {
	c := cfg.Storage.S3
	return s3.New(ctx, s3.Config{
		Endpoint: c.Endpoint, Bucket: c.Bucket, Region: c.Region, AccessKey: c.AccessKey, SecretKey: c.SecretKey,
		UseTLS: c.UseTLS, Prefix: c.Prefix, Retention: s3.Retention{Mode: c.RetentionMode, Days: c.RetentionDays},
	})
}

type spooled struct {
	*spool.Spool
	local *file.Backend
}

// Close waits for nothing: segments still in the spool are uploaded at the next start.
func (s *spooled) Close() error {
	err := s.Spool.Close()
	if cerr := s.local.Close(); err == nil {
		err = cerr
	}
	return err
}
