package main

import (
	"fmt"
	"strconv"

	"github.com/seed18fc72c3/vigil/access"
	"github.com/spf13/cobra"
)

func init() {
	register(func() *cobra.Command {
		c := &cobra.Command{Use: "user", Short: "Manage the users who log in to Vigil"}
		c.AddCommand(userAddCmd(), userListCmd(), userRemoveCmd(), userTOTPCmd(), userExportCmd())
		return c
	})
}

func userAddCmd() *cobra.Command {
	var role string
	var keys []string
	var withPassword, export bool
	c := &cobra.Command{
		Use:   "add NAME",
		Short: "Add a user with SSH keys and/or a password (read from stdin or prompted, never a flag)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			name := args[0]
			if err := nameArg("user", name); err != nil {
				return err
			}
			lines, err := readKeys(keys)
			if err != nil {
				return err
			}
			u := access.User{Name: name, Role: access.Role(role), PublicKeys: lines, Export: export}
			if export && u.Role != access.RoleAuditor && u.Role != access.RoleAdmin {
				return fmt.Errorf("--export needs --role auditor or admin")
			}
			if withPassword {
				pw, err := readSecret(cmd, "password", false)
				if err != nil {
					return err
				}
				u.PasswordHash, err = access.HashPassword(pw)
				clear(pw)
				if err != nil {
					return err
				}
			}
			s, err := openAccessStore(cmd)
			if err != nil {
				return err
			}
			if err := s.AddUser(u); err != nil {
				return err
			}
			if !withPassword && len(lines) == 0 {
				fmt.Fprintf(cmd.ErrOrStderr(), "note: user %q has no key and no password and cannot log in yet\n", name)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "added user %s (%s)\n", name, roleOrDefault(u.Role))
			return nil
		},
	}
	c.Flags().StringVar(&role, "role", "user", "role: user, auditor or admin")
	c.Flags().StringArrayVar(&keys, "key", nil, "SSH public key: a file (e.g. id_ed25519.pub) or an authorized_keys line; repeatable")
	c.Flags().BoolVar(&withPassword, "password", false, "set a password, read from stdin or prompted")
	c.Flags().BoolVar(&export, "export", false, "may export evidence bundles from the web UI (auditors and admins only)")
	return c
}

// userExportCmd gives or takes the permission to export evidence from the web UI.
func userExportCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "export NAME on|off",
		Short: "Allow or forbid a user to export evidence bundles from the web UI",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			on := false
			switch args[1] {
			case "on":
				on = true
			case "off":
			default:
				return fmt.Errorf("say on or off, not %q", args[1])
			}
			s, err := openAccessStore(cmd)
			if err != nil {
				return err
			}
			if on {
				for _, u := range s.Users() {
					if u.Name == args[0] && u.Role != access.RoleAuditor && u.Role != access.RoleAdmin {
						return fmt.Errorf("user %s is a %s: only auditors and admins may export", u.Name, roleOrDefault(u.Role))
					}
				}
			}
			if err := s.SetExport(args[0], on); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "user %s: export %s\n", args[0], args[1])
			return nil
		},
	}
}

func roleOrDefault(r access.Role) access.Role {
	if r == "" {
		return access.RoleUser
	}
	return r
}

func userListCmd() *cobra.Command {
	return storeListCmd("List users (never their password hashes)", "NAME\tROLE\tPASSWORD\tKEYS\tEXPORT\tSOURCE",
		func(s *access.Store) (rows [][]string) {
			for _, u := range s.Users() {
				rows = append(rows, []string{u.Name, string(u.Role), yesNo(u.PasswordHash != ""),
					strconv.Itoa(len(u.PublicKeys)), yesNo(u.Export), source(s, "user", u.Name)})
			}
			return rows
		})
}

func userRemoveCmd() *cobra.Command {
	return storeRemoveCmd("user", "Remove a user added with the CLI (remove their grants first)", (*access.Store).RemoveUser)
}
