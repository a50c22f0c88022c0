package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"time"

	"github.com/seed18fc72c3/vigil/cmd/config"

	"github.com/seed18fc72c3/vigil/audit"
	"github.com/seed18fc72c3/vigil/cmd/gateway"
	"github.com/spf13/cobra"
)

func init() { register(newAuditCmd) }

func newAuditCmd() *cobra.Command {
	var kind string
	var since time.Duration
	var verifyOnly bool
	c := &cobra.Command{
		Use:   "audit",
		Short: "Print the audit log (one JSON object a line), checking its hash chain",
		Long: "Print the audit log: logins, failures, sessions and their causes, refused requests.\n" +
			"The whole hash chain is checked; a broken chain is reported with the first line that does not hold, and the command fails.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(cmd)
			if err != nil {
				return err
			}
			path := gateway.AuditPath(cfg)
			f, err := os.Open(path)
			if errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("no audit log at %s yet (vigil serve makes it)", path)
			}
			if err != nil {
				return err
			}
			defer f.Close()
			enc := json.NewEncoder(cmd.OutOrStdout())
			cutoff := time.Time{}
			if since > 0 {
				cutoff = time.Now().Add(-since)
			}
			n, err := audit.Verify(f, func(e audit.Event) error {
				if verifyOnly || (kind != "" && e.Kind != kind) || e.Time.Before(cutoff) {
					return nil
				}
				return enc.Encode(e)
			})
			if err != nil {
				return fmt.Errorf("%s: %w", path, err)
			}
			if verifyOnly {
				fmt.Fprintf(cmd.OutOrStdout(), "%s: %d events, hash chain intact\n", path, n)
			}
			return nil
		},
	}
	c.Flags().StringVar(&kind, "kind", "", "only events of this kind (login-ok, login-failed, session-start, session-end, refused)")
	c.Flags().DurationVar(&since, "since", 0, "only events of the last DURATION (e.g. 24h)")
	c.Flags().BoolVar(&verifyOnly, "verify", false, "only check the chain and print a summary")
	return c
}

// appendAudit records an administrative action of a CLI command in the audit log the gateway
// writes too (the log is shared safely between processes).
func appendAudit(cfg config.Config, e audit.Event) error {
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return fmt.Errorf("data directory: %w", err)
	}
	l, err := audit.Open(gateway.AuditPath(cfg))
	if err != nil {
		return err
	}
	defer l.Close()
	return l.Append(e)
}

// currentOSUser names who ran a CLI command, for the audit log.
func currentOSUser() string {
	if u, err := user.Current(); err == nil {
		return "os:" + u.Username
	}
	return fmt.Sprintf("os-uid:%d", os.Getuid())
}
