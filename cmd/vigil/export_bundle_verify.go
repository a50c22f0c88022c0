package main

import (
	"fmt"
	"io"
	"os"
	"strings"

	"filippo.io/age"
	"github.com/spf13/cobra"
	"golang.org/x/crypto/ssh"

	"github.com/seed18fc72c3/vigil/cmd/gateway"
	"github.com/seed18fc72c3/vigil/cmd/nodekeys"
	"github.com/seed18fc72c3/vigil/storage/seal"
)

// bundleVerifyFlags are verify's options for an evidence bundle (`vigil verify case.zip`).
type bundleVerifyFlags struct {
	identity   string
	passphrase bool
}

func addBundleVerifyFlags(c *cobra.Command) *bundleVerifyFlags {
	f := &bundleVerifyFlags{}
	c.Flags().StringVar(&f.identity, "identity", "", "bundle: age identity file that decrypts its segments, to check their plaintext")
	c.Flags().BoolVar(&f.passphrase, "passphrase", false, "bundle: its segments' passphrase, from the terminal or stdin")
	return f
}

// isBundleArg reports whether verify's argument is an evidence bundle file.
func isBundleArg(arg string) bool {
	st, err := os.Stat(arg)
	return err == nil && st.Mode().IsRegular() && strings.HasSuffix(strings.ToLower(arg), ".zip")
}

// verifyBundle checks an evidence bundle. It needs no data directory: trusted keys come from
// --allowed-signers when given; otherwise the bundle's own allowed_signers is used and the
// signer's fingerprint printed, to be compared out of band (and with this node's keys when a
// data directory is there).
func verifyBundle(cmd *cobra.Command, path, allowed string, f *bundleVerifyFlags) error {
	opt := gateway.EvidenceVerifyOptions{}
	if allowed != "" {
		keys, err := nodekeys.ReadAllowedSigners(allowed, seal.Namespace)
		if err != nil {
			return err
		}
		opt.Trusted = keys
	}
	if f.identity != "" {
		fh, err := os.Open(f.identity)
		if err != nil {
			return fmt.Errorf("--identity: %w", err)
		}
		ids, err := age.ParseIdentities(fh)
		fh.Close()
		if err != nil {
			return fmt.Errorf("--identity %s: %w", f.identity, err)
		}
		opt.Identities = append(opt.Identities, ids...)
	}
	if f.passphrase {
		p, err := readSecret(cmd, "passphrase", false)
		if err != nil {
			return err
		}
		id, err := age.NewScryptIdentity(string(p))
		clear(p)
		if err != nil {
			return err
		}
		opt.Identities = append(opt.Identities, id)
	}
	fh, err := os.Open(path)
	if err != nil {
		return err
	}
	defer fh.Close()
	st, err := fh.Stat()
	if err != nil {
		return err
	}
	rep, verr := gateway.VerifyEvidence(cmd.Context(), fh, st.Size(), opt)
	if verr != nil && rep.Index == nil && len(rep.Problems) == 0 {
		return fmt.Errorf("verify %s: %w", path, verr)
	}
	local := ""
	if allowed == "" && rep.Signer != nil {
		local = localSignerNote(cmd, rep.Signer)
	}
	printBundleReport(cmd.OutOrStdout(), path, rep, local)
	if verr != nil {
		return fmt.Errorf("bundle %s failed verification: %d problem(s)", path, len(rep.Problems))
	}
	return nil
}

// localSignerNote says whether the bundle's signer is a key of the node whose data directory
// this command sees, if there is one.
func localSignerNote(cmd *cobra.Command, signer ssh.PublicKey) string {
	cfg, err := loadConfig(cmd)
	if err != nil {
		return ""
	}
	keys, err := nodekeys.ReadAllowedSigners(cfg.Path("keys", nodekeys.AllowedSignersFile), seal.Namespace)
	if err != nil {
		return ""
	}
	for _, k := range keys {
		if string(k.Marshal()) == string(signer.Marshal()) {
			return "a signing key of this node"
		}
	}
	return "NOT a signing key of this node (" + cfg.DataDir + ")"
}

func printBundleReport(w io.Writer, path string, rep *gateway.EvidenceReport, local string) {
	fmt.Fprintf(w, "bundle     %s\n", path)
	if idx := rep.Index; idx != nil {
		fmt.Fprintf(w, "exported   %s by %s, segments %s\n", idx.Created.Format("2006-01-02 15:04:05 MST"), idx.Exporter, idx.Segments)
		audit := "not included"
		if idx.Audit.Included {
			audit = fmt.Sprintf("%d events, chain intact at export", idx.Audit.Events)
			if !idx.Audit.Intact {
				audit = "chain BROKEN at export: " + idx.Audit.Error
			}
		}
		fmt.Fprintf(w, "audit log  %s\n", audit)
	}
	if rep.Signer != nil {
		fmt.Fprintf(w, "signed by  %s %s", rep.Signer.Type(), ssh.FingerprintSHA256(rep.Signer))
		if local != "" {
			fmt.Fprintf(w, " (%s)", local)
		} else {
			fmt.Fprint(w, " (compare with the node's published fingerprint)")
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "files      %d match the signed SHA256SUMS\n", rep.Files)
	for _, s := range rep.Sessions {
		ended := s.Cause
		if !s.Final {
			ended = "BY CRASH or without a valid final manifest"
		}
		plain := "not decrypted"
		if rep.Decrypted {
			plain = fmt.Sprintf("%d of %d match plain_sha256", s.Plain, s.Segments)
		}
		fmt.Fprintf(w, "session    %s: %d segments, %d checkpoints verified, ended %s; plaintext %s; %d audit events\n",
			s.ID, s.Segments, s.Checkpoints, ended, plain, s.AuditEvents)
	}
	for _, n := range rep.Notes {
		fmt.Fprintf(w, "note       %s\n", n)
	}
	for _, p := range rep.Problems {
		fmt.Fprintf(w, "PROBLEM    %s\n", p.Error())
	}
	if rep.OK() {
		fmt.Fprintf(w, "OK         bundle %s is intact\n", path)
	}
}
