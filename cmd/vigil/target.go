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
		rs access.RDPSettings
	)
	c := &cobra.Command{
		Use:   "add NAME --host HOST",
		Short: "Add a target; without --host-key (ssh) or --rdp-cert (rdp) its key or certificate is trusted on first use, then enforced",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			t.Name = args[0]
			if err := nameArg("target", t.Name); err != nil {
				return err
			}
			if !tl.IsZero() {
				t.Telnet = &tl
			}
			if !rs.IsZero() {
				t.RDP = &rs
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
	c.Flags().StringVar(&t.Protocol, "protocol", "ssh", "protocol: ssh, telnet, vnc or rdp")
	c.Flags().StringVar(&t.HostKey, "host-key", "", "pinned host key: an authorized_keys/known_hosts line or a SHA256: fingerprint")
	// Repeatable: each flag adds one pattern; none keeps the defaults of proxy/telnet.
	c.Flags().StringArrayVar(&tl.UserPrompts, "telnet-user-prompt", nil, "telnet: a user-name prompt to answer with the account, e.g. 'Username:' (repeatable; default: login:, username:, user name:, user:)")
	c.Flags().StringArrayVar(&tl.PasswordPrompts, "telnet-password-prompt", nil, "telnet: a password prompt to answer with the vaulted password (repeatable; default: password:, passcode:)")
	c.Flags().StringArrayVar(&tl.ShellPrompts, "telnet-shell-prompt", nil, "telnet: the end of a prompt that means the login succeeded, e.g. 'router1#' (repeatable; default: $ # > %)")
	c.Flags().StringArrayVar(&tl.FailurePatterns, "telnet-failure", nil, "telnet: text that means the target refused the login (repeatable; default: login incorrect, access denied, ...)")
	c.Flags().DurationVar(&tl.LoginTimeout, "telnet-login-timeout", 0, "telnet: how long the whole login dialog may take (default 15s)")
	c.Flags().StringVar(&rs.Security, "rdp-security", "", "rdp: security mode: negotiate (default), nla, tls or rdp")
	c.Flags().StringVar(&rs.Domain, "rdp-domain", "", "rdp: the Windows domain of the vaulted account")
	c.Flags().StringVar(&rs.Certificate, "rdp-cert", "", "rdp: pinned server certificate, sha256:<hex of the SHA-256 of its DER> (default: trusted on first use)")
	c.MarkFlagRequired("host")
	return c
}

func targetListCmd() *cobra.Command {
	return storeListCmd("List targets and the host key or certificate enforced for each", "NAME\tHOST\tPORT\tPROTOCOL\tHOST KEY / CERTIFICATE\tSOURCE\tTELNET LOGIN\tRDP",
		func(s *access.Store) (rows [][]string) {
			for _, t := range s.Targets() {
				key := hostKeyColumn(s, t.Name)
				switch t.Protocol {
				case "rdp":
					key = rdpCertColumn(s, t)
				case "vnc":
					key = "-" // VNC has neither host keys nor certificates
				}
				rows = append(rows, []string{t.Name, t.Host, strconv.Itoa(t.Port), t.Protocol,
					key, source(s, "target", t.Name), t.Telnet.String(), t.RDP.String()})
			}
			return rows
		})
}

// rdpCertColumn shows an RDP target's certificate fingerprint and how it came to be enforced.
func rdpCertColumn(s *access.Store, t access.Target) string {
	if t.RDP.SecurityMode() == access.RDPStandard {
		return "none (standard RDP security)"
	}
	fp, pinned, err := s.RDPCertificate(t.Name)
	switch {
	case err != nil:
		return "?"
	case fp == nil:
		return "first use (none seen yet)"
	case pinned:
		return access.FormatCertFingerprint(fp) + " (pinned)"
	}
	return access.FormatCertFingerprint(fp) + " (first use)"
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
