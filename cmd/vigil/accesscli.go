package main

// Shared plumbing of the access commands (user, target, credential, grant): opening the store and
// the vault of the configured data directory, reading secrets, printing tables.

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/seed18fc72c3/vigil/access"
	"github.com/seed18fc72c3/vigil/vault"
	"github.com/spf13/cobra"
	"golang.org/x/term"
)

// The paths agree with cmd/gateway's AccessPath and VaultDir; they are repeated here so the
// admin commands do not depend on the gateway's package.
func openAccessStore(cmd *cobra.Command) (*access.Store, error) {
	cfg, err := loadConfig(cmd)
	if err != nil {
		return nil, err
	}
	return access.OpenStore(cfg.Path("access.json"), cfg.Access)
}

func openVault(cmd *cobra.Command) (*vault.Vault, error) {
	cfg, err := loadConfig(cmd)
	if err != nil {
		return nil, err
	}
	return vault.Open(cfg.Path("vault"))
}

// maxSecret bounds a secret read from stdin, so a mistaken pipe of a large file fails clearly.
const maxSecret = 64 << 10

// readSecret reads a password: from a terminal, prompted twice without echo (on stderr, so
// stdout stays clean); otherwise the whole of stdin with one trailing newline removed. Passwords
// never come from flags, which leak through ps and shell history. allowEmpty permits an empty
// answer (a credential with only a private key).
func readSecret(cmd *cobra.Command, what string, allowEmpty bool) ([]byte, error) {
	in := cmd.InOrStdin()
	if f, ok := in.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		return promptTwice(int(f.Fd()), cmd.ErrOrStderr(), what, allowEmpty)
	}
	b, err := io.ReadAll(io.LimitReader(in, maxSecret+1))
	if err != nil {
		return nil, fmt.Errorf("read %s from stdin: %w", what, err)
	}
	if len(b) > maxSecret {
		clear(b)
		return nil, fmt.Errorf("%s on stdin is longer than %d bytes", what, maxSecret)
	}
	b = bytes.TrimSuffix(b, []byte("\n"))
	b = bytes.TrimSuffix(b, []byte("\r"))
	if len(b) == 0 && !allowEmpty {
		return nil, fmt.Errorf("empty %s on stdin", what)
	}
	if bytes.ContainsAny(b, "\n") {
		clear(b)
		return nil, fmt.Errorf("%s on stdin has several lines; give exactly one", what)
	}
	return b, nil
}

func promptTwice(fd int, w io.Writer, what string, allowEmpty bool) ([]byte, error) {
	fmt.Fprintf(w, "%s: ", upperFirst(what))
	a, err := term.ReadPassword(fd)
	fmt.Fprintln(w)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", what, err)
	}
	if len(a) == 0 && !allowEmpty {
		return nil, fmt.Errorf("empty %s", what)
	}
	fmt.Fprintf(w, "Repeat %s: ", what)
	b, err := term.ReadPassword(fd)
	fmt.Fprintln(w)
	defer clear(b)
	if err != nil {
		clear(a)
		return nil, fmt.Errorf("read %s: %w", what, err)
	}
	if !bytes.Equal(a, b) {
		clear(a)
		return nil, fmt.Errorf("the two %ss differ", what)
	}
	return a, nil
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// readKeys turns each --key value into authorized_keys lines: a value that names a readable file
// contributes every key line of it; any other value is taken as a key line itself.
func readKeys(values []string) ([]string, error) {
	var out []string
	for _, v := range values {
		b, err := os.ReadFile(v)
		if err != nil {
			if !errors.Is(err, os.ErrNotExist) || !strings.Contains(v, " ") {
				// Neither a file nor plausibly a key line ("ssh-ed25519 AAAA...").
				return nil, fmt.Errorf("--key %q: not a readable file nor a public key line", abbrev(v))
			}
			out = append(out, strings.TrimSpace(v))
			continue
		}
		sc := bufio.NewScanner(bytes.NewReader(b))
		n := 0
		for sc.Scan() {
			line := strings.TrimSpace(sc.Text())
			if line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			out = append(out, line)
			n++
		}
		if n == 0 {
			return nil, fmt.Errorf("--key %s: no key in the file", v)
		}
	}
	return out, nil
}

func abbrev(s string) string {
	if len(s) > 40 {
		return s[:37] + "..."
	}
	return s
}

// table writes rows aligned in columns.
// storeListCmd is a `list` subcommand: one table of rows read from the access store.
func storeListCmd(short, header string, rows func(*access.Store) [][]string) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: short,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := openAccessStore(cmd)
			if err != nil {
				return err
			}
			return table(cmd.OutOrStdout(), header, rows(s))
		},
	}
}

// storeRemoveCmd is `remove NAME` for a user or target of the access store.
func storeRemoveCmd(kind, short string, remove func(*access.Store, string) error) *cobra.Command {
	return &cobra.Command{
		Use:   "remove NAME",
		Short: short,
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := openAccessStore(cmd)
			if err != nil {
				return err
			}
			if err := remove(s, args[0]); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "removed %s %s\n", kind, args[0])
			return nil
		},
	}
}

func table(w io.Writer, header string, rows [][]string) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, header)
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	return tw.Flush()
}

// nameArg rejects a malformed user or target name before anything is opened, with the rule.
func nameArg(kind, name string) error {
	if !access.ValidName(name) {
		return fmt.Errorf("invalid %s name %q: want 1-64 of a-z 0-9 . _ -, starting with a letter or digit", kind, name)
	}
	return nil
}

func accountArg(account string) error {
	if !access.ValidAccount(account) {
		return fmt.Errorf("invalid account %q: want 1-64 printable characters without spaces or '@'", account)
	}
	return nil
}

func source(s *access.Store, kind, name string) string {
	if s.IsFromConfig(kind, name) {
		return "config"
	}
	return "cli"
}
