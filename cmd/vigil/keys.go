package main

import (
	"fmt"
	"github.com/seed18fc72c3/vigil/audit"
	"io"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"
	"golang.org/x/crypto/ssh"

	"github.com/seed18fc72c3/vigil/cmd/nodekeys"
)

func init() { register(newKeysCmd) }

func newKeysCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "keys",
		Short: "Print the node's public keys (made on first use)",
		Long: "Print the node's public keys: the age recipient recordings are sealed to, the signing key in\n" +
			"authorized_keys form, the SSH host key's fingerprint and the allowed_signers file auditors use\n" +
			"with `ssh-keygen -Y verify`. No private key is printed.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(cmd)
			if err != nil {
				return err
			}
			if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
				return fmt.Errorf("data directory: %w", err)
			}
			k, err := nodekeys.Ensure(cfg.Path("keys"))
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			for _, f := range k.Created {
				fmt.Fprintf(w, "made       %s\n", f)
			}
			printKeys(w, k)
			return nil
		},
	}
	c.AddCommand(&cobra.Command{
		Use:   "rotate",
		Short: "Make a new signing key and age identity, keeping the old ones for old recordings",
		Long: "Rotate the signing key and the age identity. The old ones move to <data>/keys/old/<time>/: recordings\n" +
			"made before still decrypt and verify, and allowed_signers lists every signing key. The host key is\n" +
			"kept. A running `vigil serve` uses the new keys from its next start.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(cmd)
			if err != nil {
				return err
			}
			if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
				return fmt.Errorf("data directory: %w", err)
			}
			k, err := nodekeys.Rotate(cfg.Path("keys"))
			if err != nil {
				return err
			}
			if err := appendAudit(cfg, audit.Event{Kind: "key-rotation", User: currentOSUser(),
				Detail: "signing key " + ssh.FingerprintSHA256(k.SignPublic())}); err != nil {
				return fmt.Errorf("keys rotated, but the audit log failed: %w", err)
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "rotated    new signing key and age identity; %d earlier generation(s) kept in %s\n",
				len(k.OldSign), filepath.Join(k.Dir, nodekeys.OldDir))
			printKeys(w, k)
			return nil
		},
	})
	return c
}

func printKeys(w io.Writer, k *nodekeys.Keys) {
	sign := k.SignPublic()
	fmt.Fprintf(w, "age        %s\n", k.Age.Recipient())
	fmt.Fprintf(w, "signing    %s %s\n", ssh.MarshalAuthorizedKey(sign)[:len(ssh.MarshalAuthorizedKey(sign))-1], nodekeys.SignerPrincipal)
	fmt.Fprintf(w, "signing    %s\n", ssh.FingerprintSHA256(sign))
	fmt.Fprintf(w, "host       %s\n", ssh.FingerprintSHA256(k.Host.PublicKey()))
	fmt.Fprintf(w, "allowed    %s (%d signing key(s), for ssh-keygen -Y verify -I %s -n vigil-recording)\n",
		filepath.Join(k.Dir, nodekeys.AllowedSignersFile), 1+len(k.OldSign), nodekeys.SignerPrincipal)
}
