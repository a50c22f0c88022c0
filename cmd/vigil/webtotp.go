package main

import (
	"fmt"

	"github.com/seed18fc72c3/vigil/access"
	"github.com/seed18fc72c3/vigil/cmd/gateway"
	"github.com/spf13/cobra"
)

// userTOTPCmd is `vigil user totp NAME` (added to the user command in user.go).
func userTOTPCmd() *cobra.Command {
	var remove bool
	c := &cobra.Command{
		Use:   "totp NAME",
		Short: "Enrol a user in TOTP for the web UI and print the otpauth:// URI for their app",
		Long: "Makes a new TOTP secret for NAME (replacing any earlier one), keeps it in <data_dir>/totp.json\n" +
			"(mode 0600) and prints its otpauth:// URI once: hand it to the user for their authenticator app.\n" +
			"From then on the web UI asks NAME for a code after the password.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := loadConfig(cmd)
			if err != nil {
				return err
			}
			store := access.OpenTOTP(gateway.TOTPPath(cfg))
			if remove {
				if err := store.Remove(args[0]); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "removed the TOTP enrolment of %s\n", args[0])
				return nil
			}
			uri, err := store.Enroll("Vigil", args[0])
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), uri)
			return nil
		},
	}
	c.Flags().BoolVar(&remove, "remove", false, "end the enrolment instead")
	return c
}
