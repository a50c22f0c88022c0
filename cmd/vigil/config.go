package main

import (
	"github.com/seed18fc72c3/vigil/cmd/config"
	"github.com/spf13/cobra"
)

var configPath string

func addConfigFlags(root *cobra.Command) {
	pf := root.PersistentFlags()
	pf.StringVar(&configPath, "config", "", "configuration file (YAML); VIGIL_* environment variables and flags override it")
	pf.String("data-dir", "", "data directory (default ./vigil-data)")
	pf.String("log-level", "", "log level: debug, info, warn, error")
	pf.String("ssh-listen", "", "SSH listen address (default :2222)")
	pf.String("web-listen", "", "web UI listen address (default 127.0.0.1:8080)")
}

// loadConfig loads the configuration for cmd: file, environment, then the flags that were set.
func loadConfig(cmd *cobra.Command) (config.Config, error) {
	return config.Load(configPath, changedFlags(cmd))
}
