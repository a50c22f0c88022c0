package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/asticode/go-astiav"
	"github.com/spf13/cobra"

	"github.com/seed18fc72c3/vigil/cmd/config"
	"github.com/seed18fc72c3/vigil/cmd/gateway"
	"github.com/seed18fc72c3/vigil/index"
	"github.com/seed18fc72c3/vigil/index/ocr"
)

func init() { register(newReindexCmd) }

func newReindexCmd() *cobra.Command {
	var catchUp, withOCR bool
	c := &cobra.Command{
		Use:   "reindex [SESSION...]",
		Short: "Rebuild the search index from the stored recordings",
		Long: "Index stored recordings again: the sessions named, the sessions whose live indexing fell\n" +
			"behind (--catch-up), or every stored session. A session's old documents are replaced; for a\n" +
			"graphical session that means its typed lines.\n\n" +
			"With --ocr, graphical sessions' stored video is decoded and read by OCR again, replacing what\n" +
			"the live OCR indexed (and their typed lines): the sessions named, those whose live OCR dropped\n" +
			"work (--catch-up), or every graphical session. It is slow (a second or so of CPU per changed\n" +
			"screen) and uses ocr.workers cores.\n\n" +
			"The index is held by a running `vigil serve`: stop it first.",
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := loadConfig(cmd)
			if err != nil {
				return err
			}
			if catchUp && len(args) > 0 {
				return fmt.Errorf("--catch-up takes no session ids")
			}
			store, err := gateway.OpenRecordings(cfg)
			if err != nil {
				return err
			}
			ix, err := index.Open(cfg.Path("index"))
			if errors.Is(err, index.ErrInUse) {
				// Reindexing through serve's control socket is not offered: a long OCR run would
				// compete with live sessions for the same cores. Said plainly instead.
				return fmt.Errorf("reindex: the index is in use by a running vigil serve: stop vigil serve first")
			}
			if err != nil {
				return err
			}
			defer ix.Close()
			if withOCR {
				return reindexOCR(cmd, cfg, store, ix, args, catchUp)
			}
			ids := args
			switch {
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
	c.Flags().BoolVar(&withOCR, "ocr", false, "read graphical sessions' stored video by OCR again")
	return c
}

// reindexOCR is `vigil reindex --ocr`.
func reindexOCR(cmd *cobra.Command, cfg config.Config, store *gateway.Recordings, ix *index.Index, args []string, catchUp bool) error {
	ctx := cmd.Context()
	ids := args
	switch {
	case catchUp:
		var err error
		if ids, err = ix.OCRCatchUp(); err != nil {
			return err
		}
	case len(args) == 0:
		var err error
		if ids, err = graphicalSessions(ctx, store); err != nil {
			return err
		}
	}
	if len(ids) == 0 {
		fmt.Fprintln(cmd.OutOrStdout(), "no graphical sessions to read")
		return nil
	}
	astiav.SetLogLevel(astiav.LogLevelError)
	oc := ocr.DefaultConfig()
	oc.Workers = cfg.OCR.Workers
	pool, err := ocr.Start(ctx, oc)
	if err != nil {
		return fmt.Errorf("reindex: %w", err)
	}
	defer pool.Stop()
	wc := ocr.DefaultWatchConfig()
	wc.Interval = cfg.OCR.Interval
	var errs []error
	total := 0
	for _, id := range ids {
		n, err := gateway.ReindexOCR(ctx, ix, store, pool, wc, id)
		total += n
		if err != nil {
			errs = append(errs, err)
			fmt.Fprintf(cmd.ErrOrStderr(), "%s: %v\n", id, err)
			continue
		}
		fmt.Fprintf(cmd.OutOrStdout(), "%s: %d lines\n", id, n)
	}
	st := pool.Stats()
	fmt.Fprintf(cmd.OutOrStdout(), "read %d graphical sessions, %d lines, %d screens in %.1f s of OCR CPU\n",
		len(ids)-len(errs), total, st.Done, st.CPU.Seconds())
	return errors.Join(errs...)
}

// graphicalSessions lists the stored recordings that hold video.
func graphicalSessions(ctx context.Context, store *gateway.Recordings) ([]string, error) {
	refs, err := store.List(ctx)
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, r := range refs {
		if r.Segments == 0 || r.Err != nil {
			continue
		}
		g, err := store.IsGraphical(ctx, r)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", r.ID, err)
		}
		if g {
			ids = append(ids, r.ID)
		}
	}
	return ids, nil
}
