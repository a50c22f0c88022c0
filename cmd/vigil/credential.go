package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/seed18fc72c3/vigil/access"
	"github.com/seed18fc72c3/vigil/vault"
	"github.com/spf13/cobra"
	"golang.org/x/crypto/ssh"
)

func init() {
	register(func() *cobra.Command {
		c := &cobra.Command{Use: "credential", Short: "Manage the vaulted credentials Vigil logs in to targets with"}
		c.AddCommand(credentialSetCmd(), credentialListCmd(), credentialRemoveCmd())
		return c
	})
}

func credentialSetCmd() *cobra.Command {
	var keyFile string
	c := &cobra.Command{
		Use:   "set TARGET ACCOUNT",
		Short: "Store the password (from stdin or prompted) and/or private key of ACCOUNT on TARGET",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			target, account := args[0], args[1]
			if err := nameArg("target", target); err != nil {
				return err
			}
			if err := accountArg(account); err != nil {
				return err
			}
			s, err := openAccessStore(cmd)
			if err != nil {
				return err
			}
			if !targetExists(s, target) {
				return fmt.Errorf("unknown target %q", target)
			}
			var sec vault.Secret
			defer sec.Wipe()
			if keyFile != "" {
				if sec.PrivateKey, err = readPrivateKey(keyFile); err != nil {
					return err
				}
			}
			// With a key the password is optional: an empty line (or empty stdin) means none.
			if sec.Password, err = readSecret(cmd, "password", keyFile != ""); err != nil {
				return err
			}
			v, err := openVault(cmd)
			if err != nil {
				return err
			}
			if err := v.Set(target, account, sec); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "stored credential for %s@%s\n", account, target)
			return nil
		},
	}
	c.Flags().StringVar(&keyFile, "private-key-file", "", "private key file (PEM or OpenSSH format, unencrypted)")
	return c
}

// readPrivateKey reads and checks a private key file, so a wrong file fails now rather than at
// the first login.
func readPrivateKey(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("private key: %w", err)
	}
	if _, err := ssh.ParseRawPrivateKey(b); err != nil {
		clear(b)
		var missing *ssh.PassphraseMissingError
		if errors.As(err, &missing) {
			return nil, fmt.Errorf("private key %s is encrypted; store a decrypted copy (ssh-keygen -p -N '' -f COPY)", path)
		}
		// The parser's message does not quote the key, so it is safe to show.
		return nil, fmt.Errorf("private key %s: %v", path, err)
	}
	return b, nil
}

func targetExists(s *access.Store, name string) bool {
	for _, t := range s.Targets() {
		if t.Name == name {
			return true
		}
	}
	return false
}

func credentialListCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List vaulted credentials by target and account (never the secrets)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			v, err := openVault(cmd)
			if err != nil {
				return err
			}
			refs, err := v.List()
			if err != nil {
				return err
			}
			var rows [][]string
			for _, r := range refs {
				rows = append(rows, []string{r.Target, r.Account})
			}
			return table(cmd.OutOrStdout(), "TARGET\tACCOUNT", rows)
		},
	}
}

func credentialRemoveCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "remove TARGET ACCOUNT",
		Short: "Remove the credential of ACCOUNT on TARGET",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			v, err := openVault(cmd)
			if err != nil {
				return err
			}
			if err := v.Delete(args[0], args[1]); errors.Is(err, vault.ErrNotFound) {
				return fmt.Errorf("no credential for %s@%s", args[1], args[0])
			} else if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "removed credential for %s@%s\n", args[1], args[0])
			return nil
		},
	}
}
