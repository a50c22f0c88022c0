package main

import (
	"context"
	"errors"
	"fmt"
	"github.com/seed18fc72c3/vigil/audit"
	"io"
	"io/fs"
	"strings"
	"time"

	"filippo.io/age"
	"github.com/spf13/cobra"
	"golang.org/x/crypto/ssh"

	"github.com/seed18fc72c3/vigil/cmd/gateway"
	"github.com/seed18fc72c3/vigil/cmd/nodekeys"
	"github.com/seed18fc72c3/vigil/storage"
	"github.com/seed18fc72c3/vigil/storage/seal"
)

func init() { register(newVerifyCmd) }

func newVerifyCmd() *cobra.Command {
	var allowed string
	var decrypt bool
	var bundle *bundleVerifyFlags
	c := &cobra.Command{
		Use:   "verify SESSION|BUNDLE.zip",
		Short: "Check a sealed recording's signatures, hash chain and segments",
		Long: "Verify a sealed recording in the store (a session id or a unique prefix of one): the manifest's\n" +
			"signature by a trusted node key, its hash chain, every checkpoint and every segment's hash.\n" +
			"Exits non-zero and names each problem if anything is wrong, or if the recording ended by a crash.\n" +
			"Trusted keys come from <data>/keys/allowed_signers unless --allowed-signers names another file.\n" +
			"Given an evidence bundle (a .zip of vigil export), verify checks the bundle instead (export_bundle_verify.go).",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if isBundleArg(args[0]) {
				return verifyBundle(cmd, args[0], allowed, bundle)
			}
			cfg, err := loadConfig(cmd)
			if err != nil {
				return err
			}
			if allowed == "" {
				allowed = cfg.Path("keys", nodekeys.AllowedSignersFile)
			}
			trusted, err := nodekeys.ReadAllowedSigners(allowed, seal.Namespace)
			if errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("no trusted signing keys: %s is absent (give --allowed-signers)", allowed)
			} else if err != nil {
				return err
			}
			store, err := gateway.OpenRecordings(cfg)
			if err != nil {
				return err
			}
			ref, err := store.Find(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			defer store.Close()
			b := store.Backend()
			rep, verr := seal.Verify(cmd.Context(), b, ref.Prefix, trusted)
			// Findings come back joined (Report.Err); anything else (no recording, a storage
			// failure) stopped the check and is reported as it is.
			if _, findings := verr.(interface{ Unwrap() []error }); verr != nil && !findings {
				return fmt.Errorf("verify %s: %w", ref.ID, verr)
			}
			if decrypt && rep.Segments > 0 {
				keys, err := nodekeys.Ensure(cfg.Path("keys"))
				if err != nil {
					return err
				}
				decryptAll(cmd.Context(), b, &rep, keys.Identities())
			}
			printReport(cmd.OutOrStdout(), ref.ID, &rep, decrypt)
			v := verdict(ref.ID, &rep)
			if v != nil {
				if err := appendAudit(cfg, audit.Event{Kind: "verify-failed", Session: ref.ID, User: currentOSUser(), Cause: v.Error()}); err != nil {
					fmt.Fprintf(cmd.ErrOrStderr(), "vigil: audit log: %v\n", err)
				}
			}
			return v
		},
	}
	c.Flags().StringVar(&allowed, "allowed-signers", "", "trusted signing keys, in ssh-keygen's allowed_signers format")
	bundle = addBundleVerifyFlags(c)
	c.Flags().BoolVar(&decrypt, "decrypt", false, "also decrypt every segment with the node's age identities and check its plaintext hash")
	return c
}

// decryptAll adds a problem for every listed segment that does not decrypt to its plaintext hash.
func decryptAll(ctx context.Context, b storage.Backend, rep *seal.Report, ids []age.Identity) {
	bad := map[int]bool{}
	for _, p := range rep.Problems {
		bad[p.Segment] = true
	}
	for i := 0; i < rep.Segments; i++ {
		if bad[i] {
			continue // already named; decrypting would only repeat it
		}
		rc, err := seal.OpenSegment(ctx, b, rep.Prefix, i, ids)
		if err == nil {
			_, err = io.Copy(io.Discard, rc)
			rc.Close()
		}
		if err != nil {
			rep.Problems = append(rep.Problems, seal.Problem{Key: seal.SegmentObject(i), Segment: i, Err: err})
		}
	}
}

func printReport(w io.Writer, id string, rep *seal.Report, decrypted bool) {
	s := rep.Session
	fmt.Fprintf(w, "recording  %s\n", rep.Prefix)
	if s.ID != "" {
		fmt.Fprintf(w, "session    %s  %s -> %s (%s), started %s\n", s.ID, s.User, s.Target, s.Protocol, s.Start.UTC().Format(time.RFC3339))
	}
	if rep.Signer != nil {
		fmt.Fprintf(w, "signed by  %s %s\n", rep.Signer.Type(), ssh.FingerprintSHA256(rep.Signer))
	}
	switch {
	case rep.Final:
		fmt.Fprintf(w, "ended      %s at %s\n", rep.Cause, rep.EndTime.UTC().Format(time.RFC3339))
	case rep.Cause == seal.CrashCause:
		fmt.Fprintf(w, "ended      BY CRASH: no final manifest; the signed checkpoints cover segments 0..%d\n", rep.Segments-1)
	default:
		fmt.Fprintf(w, "ended      %s\n", rep.Cause)
	}
	how := "sealed hash"
	if decrypted {
		how = "sealed and plaintext hash"
	}
	fmt.Fprintf(w, "segments   %d listed, %d verified (%s)\n", rep.Segments, rep.Verified, how)
	for _, u := range rep.Unverified {
		fmt.Fprintf(w, "unverified %s (stored after the last signed checkpoint)\n", u)
	}
	for _, n := range rep.Notes {
		fmt.Fprintf(w, "note       %s\n", n)
	}
	for _, p := range rep.Problems {
		fmt.Fprintf(w, "PROBLEM    %s\n", p.Error())
	}
	if rep.OK() {
		fmt.Fprintf(w, "OK         recording %s is complete and intact\n", id)
	}
}

// verdict is the command's error: nil only for a complete, intact recording.
func verdict(id string, rep *seal.Report) error {
	if rep.OK() {
		return nil
	}
	if len(rep.Problems) == 1 && errors.Is(rep.Problems[0], seal.ErrNoFinalManifest) {
		return fmt.Errorf("recording %s ended by crash: intact up to its last signed checkpoint (%d segments)", id, rep.Verified)
	}
	kinds := map[string]bool{}
	var names []string
	for _, p := range rep.Problems {
		for _, s := range []error{seal.ErrTampered, seal.ErrMissingSegment, seal.ErrOrder, seal.ErrTruncated,
			seal.ErrBadSignature, seal.ErrUnknownSigner, seal.ErrNoFinalManifest, seal.ErrBadManifest} {
			if errors.Is(p, s) && !kinds[s.Error()] {
				kinds[s.Error()] = true
				names = append(names, s.Error())
			}
		}
	}
	return fmt.Errorf("recording %s failed verification: %d problem(s): %s", id, len(rep.Problems), strings.Join(names, ", "))
}
