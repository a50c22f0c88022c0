package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/seed18fc72c3/vigil/cmd/gateway"
)

func init() { register(newVNCOTPCmd) }

func newVNCOTPCmd() *cobra.Command {
	var req gateway.OTPRequest
	c := &cobra.Command{
		Use:   "vnc-otp --user USER --target TARGET",
		Short: "Issue a one-time password for a VNC viewer to open a graphical target through Vigil",
		Long: "Asks the running gateway (through its control socket) for a password that logs USER in to\n" +
			"TARGET from any VNC viewer, once, within a few minutes. The target's own password never\n" +
			"leaves Vigil. Give the password to USER only; it is not stored or logged anywhere.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			client, err := liveClient(cmd)
			if err != nil {
				return err
			}
			body, _ := json.Marshal(req)
			resp, err := client.Post("http://vigil/api/live/vnc-otp", "application/json", strings.NewReader(string(body)))
			if err != nil || resp.StatusCode != http.StatusOK {
				return liveError("vnc-otp", err, resp)
			}
			defer resp.Body.Close()
			var otp gateway.OTPResponse
			if err := json.NewDecoder(resp.Body).Decode(&otp); err != nil {
				return fmt.Errorf("vnc-otp: %w", err)
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "password: %s\n", otp.Password)
			fmt.Fprintf(w, "expires:  %s (single use)\n", otp.Expires.Local().Format(time.RFC3339))
			if otp.Listen != "" {
				fmt.Fprintf(w, "connect:  %s\n", otp.Listen)
			}
			return nil
		},
	}
	c.Flags().StringVar(&req.User, "user", "", "the Vigil user the password is for (required)")
	c.Flags().StringVar(&req.Target, "target", "", "the VNC target it opens (required)")
	c.MarkFlagRequired("user")
	c.MarkFlagRequired("target")
	return c
}
