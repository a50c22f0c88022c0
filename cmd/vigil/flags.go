package main

import (
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// changedFlags returns a flag set holding only the flags the user set, so that an unset flag's
// empty default never overrides the file or the environment.
func changedFlags(cmd *cobra.Command) *pflag.FlagSet {
	fs := pflag.NewFlagSet("changed", pflag.ContinueOnError)
	cmd.Flags().Visit(func(f *pflag.Flag) { fs.AddFlag(f) })
	cmd.InheritedFlags().Visit(func(f *pflag.Flag) {
		if fs.Lookup(f.Name) == nil {
			fs.AddFlag(f)
		}
	})
	return fs
}
