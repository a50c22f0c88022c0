package main

import (
	"github.com/spf13/cobra"
)

// subcommands are added by the files that define them (user.go, play.go, ...), each in an init
// function, so that a new subcommand touches no shared file.
var subcommands []func() *cobra.Command

func register(f func() *cobra.Command) { subcommands = append(subcommands, f) }

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "vigil",
		Short:         "Vigil, a privileged session manager: SSH gateway, recorder and auditor's tools",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	addConfigFlags(root)
	for _, f := range subcommands {
		root.AddCommand(f())
	}
	return root
}
