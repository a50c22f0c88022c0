package main

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// version is set by the build (-ldflags "-X main.version=..."); "dev" otherwise.
var version = "dev"

func init() {
	register(func() *cobra.Command {
		return &cobra.Command{
			Use:   "version",
			Short: "Print Vigil's version",
			Args:  cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				rev := ""
				if bi, ok := debug.ReadBuildInfo(); ok {
					for _, s := range bi.Settings {
						if s.Key == "vcs.revision" {
							rev = " " + s.Value
						}
					}
				}
				fmt.Fprintf(cmd.OutOrStdout(), "vigil %s%s %s\n", version, rev, runtime.Version())
				return nil
			},
		}
	})
}
