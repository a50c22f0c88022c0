package main

import (
	"errors"
	"fmt"

	"github.com/seed18fc72c3/vigil/cmd/gateway"
	"github.com/seed18fc72c3/vigil/index"
	"github.com/spf13/cobra"
)

func init() { register(newReindexCmd) }

func newReindexCmd() *cobra.Command {
	var catchUp bool
	c := &cobra.Command{
		Use:   "reindex [SESSION...]",
		Short: "Rebuild the search index from the stored recordings",
		Long: "Index stored recordings again: the sessions named, the sessions whose live indexing fell\n" +
			"behind (--catch-up), or every stored session. A session's old documents are replaced.",
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := loadConfig(cmd)
			if err != nil {
				return err
			}
			store, err := gateway.OpenRecordings(cfg)
			if err != nil {
				return err
			}
			ix, err := index.Open(cfg.Path("index"))
			if err != nil {
				return err
			}
			defer ix.Close()
			ids := args
			switch {
			case catchUp && len(args) > 0:
				return fmt.Errorf("--catch-up takes no session ids")
			case catchUp:
				ids = ix.CatchUp()
			case len(args) == 0:
				refs, err := store.List(cmd.Context())
				if err != nil {
					return err
				}
				for _, r := range refs {
					if r.Segments > 0 {
						ids = append(ids, r.ID)
					}
				}
			}
			var errs []error
			total := 0
			for _, id := range ids {
				n, err := gateway.ReindexSession(cmd.Context(), ix, store, id)
				total += n
				if err != nil {
					errs = append(errs, err)
					fmt.Fprintf(cmd.ErrOrStderr(), "%s: %v\n", id, err)
					continue
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s: %d lines\n", id, n)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "indexed %d sessions, %d lines\n", len(ids)-len(errs), total)
			return errors.Join(errs...)
		},
	}
	c.Flags().BoolVar(&catchUp, "catch-up", false, "only the sessions marked for catch-up")
	return c
}
