package main

import (
	"errors"
	"fmt"

	"github.com/seed18fc72c3/vigil/access"
	"github.com/seed18fc72c3/vigil/vault"
	"github.com/spf13/cobra"
)

func init() {
	register(func() *cobra.Command {
		c := &cobra.Command{Use: "grant", Short: "Manage which user may reach which target as which account"}
		c.AddCommand(grantAddCmd(), grantListCmd(), grantRemoveCmd())
		return c
	})
}

func grantArgs(args []string) (access.Grant, error) {
	g := access.Grant{User: args[0], Target: args[1], Account: args[2]}
	if err := nameArg("user", g.User); err != nil {
		return g, err
	}
	if err := nameArg("target", g.Target); err != nil {
		return g, err
	}
	return g, accountArg(g.Account)
}

func grantAddCmd() *cobra.Command {
	var portForward, agentForward bool
	c := &cobra.Command{
		Use:   "add USER TARGET ACCOUNT",
		Short: "Let USER reach TARGET, logged in as ACCOUNT with its vaulted credential",
		Args:  cobra.ExactArgs(3),
		RunE: func(cmd *cobra.Command, args []string) error {
			g, err := grantArgs(args)
			if err != nil {
				return err
			}
			g.PortForward, g.AgentForward = portForward, agentForward
			s, err := openAccessStore(cmd)
			if err != nil {
				return err
			}
			if err := s.AddGrant(g); err != nil {
				return err
			}
			// The credential may come later; say so now rather than at the user's first login.
			if v, err := openVault(cmd); err == nil {
				if _, err := v.Get(g.Target, g.Account); errors.Is(err, vault.ErrNotFound) {
					fmt.Fprintf(cmd.ErrOrStderr(), "note: no credential for %s@%s yet; add it with: vigil credential set %s %s\n",
						g.Account, g.Target, g.Target, g.Account)
				}
			}
			fmt.Fprintf(cmd.OutOrStdout(), "granted %s access to %s as %s\n", g.User, g.Target, g.Account)
			return nil
		},
	}
	c.Flags().BoolVar(&portForward, "port-forward", false, "allow SSH port forwarding")
	c.Flags().BoolVar(&agentForward, "agent-forward", false, "allow SSH agent forwarding")
	return c
}

func grantListCmd() *cobra.Command {
	return storeListCmd("List grants (configuration file first, then the CLI's in the order added)",
		"USER\tTARGET\tACCOUNT\tPORT-FORWARD\tAGENT-FORWARD",
		func(s *access.Store) (rows [][]string) {
			for _, g := range s.Grants() {
				rows = append(rows, []string{g.User, g.Target, g.Account, yesNo(g.PortForward), yesNo(g.AgentForward)})
			}
			return rows
		})
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func grantRemoveCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "remove USER TARGET ACCOUNT",
		Short: "Remove a grant added with the CLI",
		Args:  cobra.ExactArgs(3),
		RunE: func(cmd *cobra.Command, args []string) error {
			g, err := grantArgs(args)
			if err != nil {
				return err
			}
			s, err := openAccessStore(cmd)
			if err != nil {
				return err
			}
			if err := s.RemoveGrant(g); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "removed grant %s -> %s@%s\n", g.User, g.Account, g.Target)
			return nil
		},
	}
}
