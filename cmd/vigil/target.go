package main

import (
	"fmt"
	"strconv"

	"github.com/seed18fc72c3/vigil/access"
	"github.com/spf13/cobra"
	"golang.org/x/crypto/ssh"
)

func init() {
	register(func() *cobra.Command {
		c := &cobra.Command{Use: "target", Short: "Manage the servers Vigil logs in to"}
		c.AddCommand(targetAddCmd(), targetListCmd(), targetRemoveCmd())
		return c
	})
}

func targetAddCmd() *cobra.Command {
	var (
		t  access.Target
		tl access.TelnetLogin
	)
	c := &cobra.Command{
		Use:   "add NAME --host HOST",
		Short: "Add a target; without --host-key its SSH host key is trusted on first use, then enforced",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			t.Name = args[0]
			if err := nameArg("target", t.Name); err != nil {
				return err
			}
			if !tl.IsZero() {
				t.Telnet = &tl
			}
			s, err := openAccessStore(cmd)
			if err != nil {
				return err
			}
			if err := s.AddTarget(t); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "added target %s\n", t.Name)
			return nil
		},
	}
	c.Flags().StringVar(&t.Host, "host", "", "host name or address (required)")
	c.Flags().IntVar(&t.Port, "port", 0, "port (default: the protocol's, 22 for ssh)")
	c.Flags().StringVar(&t.Protocol, "protocol", "ssh", "protocol: ssh or telnet (vnc, rdp later)")
	c.Flags().StringVar(&t.HostKey, "host-key", "", "pinned host key: an authorized_keys/known_hosts line or a SHA256: fingerprint")
	// Repeatable: each flag adds one pattern; none keeps the defaults of proxy/telnet.
	c.Flags().StringArrayVar(&tl.UserPrompts, "telnet-user-prompt", nil, "telnet: a user-name prompt to answer with the account, e.g. 'Username:' (repeatable; default: login:, username:, user name:, user:)")
	c.Flags().StringArrayVar(&tl.PasswordPrompts, "telnet-password-prompt", nil, "telnet: a password prompt to answer with the vaulted password (repeatable; default: password:, passcode:)")
	c.Flags().StringArrayVar(&tl.ShellPrompts, "telnet-shell-prompt", nil, "telnet: the end of a prompt that means the login succeeded, e.g. 'router1#' (repeatable; default: $ # > %)")
	c.Flags().StringArrayVar(&tl.FailurePatterns, "telnet-failure", nil, "telnet: text that means the target refused the login (repeatable; default: login incorrect, access denied, ...)")
	c.Flags().DurationVar(&tl.LoginTimeout, "telnet-login-timeout", 0, "telnet: how long the whole login dialog may take (default 15s)")
	c.MarkFlagRequired("host")
	return c
}

func targetListCmd() *cobra.Command {
	return storeListCmd("List targets and the host key enforced for each", "NAME\tHOST\tPORT\tPROTOCOL\tHOST KEY\tSOURCE\tTELNET LOGIN",
		func(s *access.Store) (rows [][]string) {
			for _, t := range s.Targets() {
				rows = append(rows, []string{t.Name, t.Host, strconv.Itoa(t.Port), t.Protocol,
					hostKeyColumn(s, t.Name), source(s, "target", t.Name), t.Telnet.String()})
			}
			return rows
		})
}

// hostKeyColumn shows a fingerprint and how it came to be enforced.
func hostKeyColumn(s *access.Store, target string) string {
	key, pinned, err := s.HostKey(target)
	switch {
	case err != nil:
		return "?"
	case key == "":
		return "first use (none seen yet)"
	}
	fp := key
	if k, _, _, _, err := ssh.ParseAuthorizedKey([]byte(key)); err == nil {
		fp = ssh.FingerprintSHA256(k)
	} else if _, _, k, _, _, err := ssh.ParseKnownHosts([]byte(key)); err == nil {
		fp = ssh.FingerprintSHA256(k)
	}
	if pinned {
		return fp + " (pinned)"
	}
	return fp + " (first use)"
}

func targetRemoveCmd() *cobra.Command {
	return storeRemoveCmd("target", "Remove a target added with the CLI (remove its grants first; its credentials stay in the vault)",
		(*access.Store).RemoveTarget)
}
