package main

import (
	"context"
	"errors"
	"fmt"
	"github.com/seed18fc72c3/vigil/audit"
	"github.com/seed18fc72c3/vigil/cmd/gateway"
	"io"
	"os"
	"strings"
	"time"

	"github.com/seed18fc72c3/vigil/storage"
	"github.com/seed18fc72c3/vigil/storage/s3"
	"github.com/spf13/cobra"
)

func init() { register(newLegalHoldCmd) }

// openS3FromConfig opens the S3 backend from plain configuration values (storage.s3.* once the
// config package carries them). The secret key is never printed; errors name the endpoint and
// bucket only.
func openS3FromConfig(ctx context.Context, endpoint, bucket, region, accessKey, secretKey string, useTLS bool, prefix string) (*s3.Backend, error) {
	return s3.New(ctx, s3.Config{
		Endpoint: endpoint, Bucket: bucket, Region: region,
		AccessKey: accessKey, SecretKey: secretKey, UseTLS: useTLS, Prefix: prefix,
	})
}

// legalHolder is what legal-hold needs of a store: S3 with Object Lock.
type legalHolder interface {
	List(ctx context.Context, prefix string) ([]storage.ObjectInfo, error)
	// SetLegalHold returns fs.ErrNotExist if the object is absent.
	SetLegalHold(ctx context.Context, key string, on bool) error
}

func newLegalHoldCmd() *cobra.Command {
	var endpoint, bucket, region, accessKey, prefix, date string
	var useTLS bool
	c := &cobra.Command{
		Use:   "legal-hold set|clear SESSION",
		Short: "Place or lift an S3 legal hold on every object of a recording",
		Long: "Place (set) or lift (clear) an S3 Object Lock legal hold on every object of a recording: its segments,\n" +
			"manifest and signature. A held object cannot be deleted, whatever its retention, until the hold is\n" +
			"cleared. Only meaningful with the s3 storage backend on a bucket with object lock.\n" +
			"The secret key is read from VIGIL_S3_SECRET_KEY, never from a flag (flags show in ps).",
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			var on bool
			switch args[0] {
			case "set":
				on = true
			case "clear":
			default:
				return fmt.Errorf("legal-hold: %q: want set or clear", args[0])
			}
			var day time.Time
			if date != "" {
				var err error
				if day, err = time.Parse(time.DateOnly, date); err != nil {
					return fmt.Errorf("legal-hold: --date %q: want YYYY-MM-DD", date)
				}
			}
			if accessKey == "" {
				accessKey = os.Getenv("VIGIL_S3_ACCESS_KEY")
			}
			ctx := cmd.Context()
			cfg, err := loadConfig(cmd)
			if err != nil {
				return err
			}
			var b *s3.Backend
			switch {
			case endpoint != "":
				b, err = openS3FromConfig(ctx, endpoint, bucket, region, accessKey, os.Getenv("VIGIL_S3_SECRET_KEY"), useTLS, prefix)
			case cfg.Storage.Backend == "s3":
				b, err = gateway.OpenS3(ctx, cfg)
			default:
				return fmt.Errorf("legal-hold: storage.backend is %q: legal holds need the s3 backend (or --s3-endpoint)", cfg.Storage.Backend)
			}
			if err != nil {
				return fmt.Errorf("legal-hold: %w", err)
			}
			n, err := setSessionHold(ctx, b, args[1], day, on, cmd.OutOrStdout())
			if err != nil {
				return fmt.Errorf("legal-hold %s %s: %w", args[0], args[1], err)
			}
			if err := appendAudit(cfg, audit.Event{Kind: "legal-hold-" + args[0], Session: args[1], User: currentOSUser(),
				Detail: fmt.Sprintf("%d objects", n)}); err != nil {
				return fmt.Errorf("legal hold %s on %d objects, but the audit log failed: %w", args[0], n, err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "legal hold %s on %d objects of session %s\n", map[bool]string{true: "set", false: "cleared"}[on], n, args[1])
			return nil
		},
	}
	f := c.Flags()
	f.StringVar(&endpoint, "s3-endpoint", "", "S3 endpoint host[:port] (default: the configured storage.s3)")
	f.StringVar(&bucket, "s3-bucket", "", "S3 bucket")
	f.StringVar(&region, "s3-region", "", "S3 region (empty: discover)")
	f.StringVar(&accessKey, "s3-access-key", "", "S3 access key (default $VIGIL_S3_ACCESS_KEY)")
	f.StringVar(&prefix, "s3-prefix", "", "key prefix inside the bucket, ending in /")
	f.BoolVar(&useTLS, "s3-tls", true, "use https")
	f.StringVar(&date, "date", "", "the session's start date (UTC, YYYY-MM-DD); without it every recording is searched")
	return c
}

// setSessionHold sets or clears the hold on every object of the session and returns how many.
// The session's objects live under recordings/YYYY/MM/DD/<session>/; without the day, every
// date is scanned for that session id (one List of recordings/, slow on a large store).
func setSessionHold(ctx context.Context, b legalHolder, session string, day time.Time, on bool, log io.Writer) (int, error) {
	if err := storage.ValidateSessionID(session); err != nil {
		return 0, err
	}
	prefix := "recordings/"
	if !day.IsZero() {
		var err error
		if prefix, err = storage.RecordingPrefix(day, session); err != nil {
			return 0, err
		}
	}
	infos, err := b.List(ctx, prefix)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, info := range infos {
		// recordings/YYYY/MM/DD/<session>/<object>
		parts := strings.Split(info.Key, "/")
		if len(parts) < 6 || parts[4] != session {
			continue
		}
		if err := b.SetLegalHold(ctx, info.Key, on); err != nil {
			return n, err
		}
		fmt.Fprintf(log, "%s\n", info.Key)
		n++
	}
	if n == 0 {
		return 0, fmt.Errorf("no objects of session %s under %s: %w", session, prefix, errNoRecording)
	}
	return n, nil
}

var errNoRecording = errors.New("recording not found")
