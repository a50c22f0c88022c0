package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"filippo.io/age"
	"github.com/spf13/cobra"

	"github.com/seed18fc72c3/vigil/audit"
	"github.com/seed18fc72c3/vigil/cmd/gateway"
)

// `vigil export` makes evidence bundles as well as asciicast files:
//
//	vigil export SESSION... --recipient AGE_RECIPIENT -o case.zip
//	vigil export SESSION... --passphrase -o case.zip      (passphrase from the terminal or stdin)
//	vigil export SESSION... --clear -o case.zip           (unencrypted; audited as such)
//	vigil export --format asciicast SESSION [-o file.cast]   (unchanged)
//
// The bundle is chosen by --format bundle, or without --format by -o ending in .zip or by any of
// --recipient/--passphrase/--clear. One command keeps one verb for "take evidence out"; the
// asciicast behaviour and its flags are untouched. play.go registers newExportCmd wrapped in
// withBundle.
// withBundle adds the bundle flags to the asciicast export command c.
func withBundle(c *cobra.Command) *cobra.Command {
	var recipients []string
	var passphrase, clearText bool
	c.Use = "export [--format asciicast|mp4|bundle] FILE|SESSION... [-o OUT]"
	c.Short = "Export recorded sessions: an evidence bundle (zip) or asciicast v2"
	c.Long = "Export an evidence bundle that a third party verifies without Vigil (README.txt inside says how,\n" +
		"`vigil verify case.zip` does it in one step): the signed manifests as stored, the segments re-encrypted\n" +
		"to --recipient (age) or to a --passphrase (asked on the terminal, or one line on stdin), or in clear with\n" +
		"--clear, the sessions' audit events, an asciicast file and an offline HTML player. Every export is\n" +
		"written to the audit log first; without the audit log entry there is no export.\n" +
		"With --format asciicast (the default unless -o ends in .zip), one session is exported as asciicast v2."
	c.Flags().StringArrayVar(&recipients, "recipient", nil, "bundle: re-encrypt segments to this age recipient (age1...; repeatable)")
	c.Flags().BoolVar(&passphrase, "passphrase", false, "bundle: re-encrypt segments with a passphrase (age scrypt), read from the terminal or stdin")
	c.Flags().BoolVar(&clearText, "clear", false, "bundle: ship segments UNENCRYPTED (recorded in the audit log as such)")
	if f := c.Flags().Lookup("format"); f != nil {
		f.Usage = "export format: asciicast, or bundle (the default when -o ends in .zip or a bundle flag is given)"
	}
	asciicastArgs, asciicastRun := c.Args, c.RunE
	isBundle := func(cmd *cobra.Command) bool {
		format, _ := cmd.Flags().GetString("format")
		out, _ := cmd.Flags().GetString("output")
		if cmd.Flags().Changed("format") {
			return format == "bundle"
		}
		return strings.HasSuffix(strings.ToLower(out), ".zip") || len(recipients) > 0 || passphrase || clearText
	}
	c.Args = func(cmd *cobra.Command, args []string) error {
		if isBundle(cmd) {
			return cobra.MinimumNArgs(1)(cmd, args)
		}
		return asciicastArgs(cmd, args)
	}
	c.RunE = func(cmd *cobra.Command, args []string) error {
		if !isBundle(cmd) {
			if len(recipients) > 0 || passphrase || clearText {
				return errors.New("--recipient, --passphrase and --clear apply to --format bundle")
			}
			return asciicastRun(cmd, args)
		}
		out, _ := cmd.Flags().GetString("output")
		if input, _ := cmd.Flags().GetBool("input"); input {
			return errors.New("--input: a bundle never carries keystrokes (they may hold secrets)")
		}
		return exportBundle(cmd, args, out, recipients, passphrase, clearText)
	}
	return c
}

func exportBundle(cmd *cobra.Command, ids []string, out string, recipientArgs []string, passphrase, clearText bool) error {
	if out == "" || out == "-" {
		return errors.New("a bundle needs -o FILE.zip (a zip is not written to a terminal)")
	}
	opt := gateway.EvidenceOptions{Clear: clearText, RecipientNames: recipientArgs, Exporter: currentOSUser()}
	for _, s := range recipientArgs {
		r, err := age.ParseX25519Recipient(strings.TrimSpace(s))
		if err != nil {
			return fmt.Errorf("--recipient %q: %w", s, err)
		}
		opt.Recipients = append(opt.Recipients, r)
	}
	if passphrase {
		p, err := readSecret(cmd, "passphrase", false)
		if err != nil {
			return err
		}
		if len(p) < 10 {
			return errors.New("passphrase: at least 10 characters")
		}
		opt.Passphrase = string(p)
		clear(p)
	}
	mode := ""
	switch {
	case len(opt.Recipients) > 0 && opt.Passphrase == "" && !opt.Clear:
		mode = "to age recipient(s) " + strings.Join(recipientArgs, ",")
	case opt.Passphrase != "" && len(opt.Recipients) == 0 && !opt.Clear:
		mode = "to a passphrase"
	case opt.Clear && len(opt.Recipients) == 0 && opt.Passphrase == "":
		mode = "UNENCRYPTED (--clear)"
	default:
		return errors.New("a bundle needs exactly one of --recipient, --passphrase or --clear")
	}
	cfg, err := loadConfig(cmd)
	if err != nil {
		return err
	}
	store, err := gateway.OpenRecordingsContext(cmd.Context(), cfg, nil)
	if err != nil {
		return err
	}
	defer store.Close()
	var refs []string
	for _, id := range ids {
		ref, err := store.Find(cmd.Context(), id)
		if err != nil {
			return err
		}
		refs = append(refs, ref.ID)
	}
	f, err := os.OpenFile(out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	// The audit lines come first, so they are inside the bundle; an export that cannot be
	// audited does not happen.
	actor := currentOSUser()
	for _, id := range refs {
		e := audit.Event{Kind: "export", User: actor, Session: id, Detail: fmt.Sprintf("evidence bundle %s, segments %s", filepath.Base(out), mode)}
		if err := appendAudit(cfg, e); err != nil {
			f.Close()
			os.Remove(out)
			return fmt.Errorf("export refused: audit log: %w", err)
		}
	}
	opt.AuditPath = gateway.AuditPath(cfg)
	idx, err := store.ExportEvidence(cmd.Context(), f, refs, opt)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(out)
		for _, id := range refs {
			if aerr := appendAudit(cfg, audit.Event{Kind: "export-failed", User: actor, Session: id, Cause: err.Error()}); aerr != nil {
				fmt.Fprintf(cmd.ErrOrStderr(), "vigil: audit log: %v\n", aerr)
			}
		}
		return err
	}
	w := cmd.OutOrStdout()
	fmt.Fprintf(w, "wrote %s: %d session(s), segments %s, signed by %s\n", out, len(idx.Sessions), mode, idx.Signer)
	if !idx.Audit.Intact && idx.Audit.Included {
		fmt.Fprintf(w, "WARNING: the audit log's chain did not verify: %s (recorded in the bundle)\n", idx.Audit.Error)
	}
	return nil
}
