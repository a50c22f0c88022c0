package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"text/tabwriter"
	"time"

	"github.com/seed18fc72c3/vigil/cmd/gateway"
	"github.com/seed18fc72c3/vigil/encode"
	"github.com/seed18fc72c3/vigil/encode/eventlog"
	"github.com/seed18fc72c3/vigil/encode/video"
	"github.com/seed18fc72c3/vigil/player"
	"github.com/spf13/cobra"
)

func init() {
	register(newPlayCmd)
	register(func() *cobra.Command { return withBundle(newExportCmd()) })
	register(newRecordingsCmd)
}

func newPlayCmd() *cobra.Command {
	var speed float64
	var skipIdle bool
	var maxIdle time.Duration
	c := &cobra.Command{
		Use:   "play FILE|SESSION",
		Short: "Replay a recorded text session in this terminal at real speed",
		Long: "Replay a recording: a segment file (.vlog), or a session id (or a unique prefix of one) from the store.\n" +
			"Only what the user saw is replayed; keystrokes are not.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if speed <= 0 || speed > 1000 {
				return fmt.Errorf("--speed %v: must be above 0 and at most 1000", speed)
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt)
			defer stop()
			segs, closeAll, err := openForReading(ctx, cmd, args[0])
			if err != nil {
				return err
			}
			defer closeAll()
			opts := player.TerminalOptions{Speed: speed}
			if skipIdle {
				opts.MaxIdle = maxIdle
			}
			err = player.PlayTerminal(ctx, cmd.OutOrStdout(), encode.NewRecords(segs), opts)
			if err == context.Canceled {
				return nil
			}
			return err
		},
	}
	c.Flags().Float64Var(&speed, "speed", 1, "playback speed (2 = twice as fast)")
	c.Flags().BoolVar(&skipIdle, "skip-idle", false, "shorten idle pauses to --max-idle")
	c.Flags().DurationVar(&maxIdle, "max-idle", time.Second, "longest pause with --skip-idle")
	return c
}

func newExportCmd() *cobra.Command {
	var format, out string
	var input bool
	c := &cobra.Command{
		Use:   "export --format asciicast FILE|SESSION",
		Short: "Export a recorded text session (asciicast v2, for asciinema)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if format != "asciicast" && format != "mp4" {
				return fmt.Errorf("--format %q: asciicast (text sessions), mp4 (graphical sessions) or bundle", format)
			}
			w := cmd.OutOrStdout()
			if out != "" && out != "-" {
				f, err := os.OpenFile(out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
				if err != nil {
					return err
				}
				defer f.Close()
				w = f
			} else if format == "mp4" {
				return fmt.Errorf("--format mp4 needs -o FILE")
			}
			if format == "mp4" {
				err := exportMP4(cmd.Context(), cmd, args[0], w)
				if err != nil && out != "" {
					os.Remove(out) // no half-written video left behind
				}
				return err
			}
			segs, closeAll, err := openForReading(cmd.Context(), cmd, args[0])
			if err != nil {
				return err
			}
			defer closeAll()
			return eventlog.Asciicast{Input: input}.Export(w, segs...)
		},
	}
	c.Flags().StringVar(&format, "format", "asciicast", "export format: asciicast, or mp4 for a graphical session")
	c.Flags().StringVarP(&out, "output", "o", "", "write to this file (must not exist) instead of standard output")
	c.Flags().BoolVar(&input, "input", false, "include keystrokes as \"i\" events (redacted ones stay out)")
	return c
}

func newRecordingsCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "recordings",
		Short: "List the stored recordings",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(cmd)
			if err != nil {
				return err
			}
			store, err := gateway.OpenRecordings(cfg)
			if err != nil {
				return err
			}
			refs, err := store.List(cmd.Context())
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 2, 8, 2, ' ', 0)
			fmt.Fprintln(tw, "SESSION\tSTART\tUSER\tTARGET\tDURATION\tSEGMENTS\tENDED")
			for _, r := range refs {
				start, user, target, dur, cause := "-", "-", "-", "-", "in progress, or ended by a crash"
				switch {
				case r.Err != nil:
					cause = "unreadable: " + r.Err.Error()
				default:
					start = r.Session.Start.UTC().Format(time.RFC3339)
					user, target = r.Session.User, r.Session.Target
					if r.End != nil {
						dur, cause = r.Duration().Round(time.Second).String(), r.End.Cause
					}
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%s\n", r.ID, start, user, target, dur, r.Segments, cause)
			}
			return tw.Flush()
		},
	}
}

// openForReading opens a segment file or a stored session's segments.
func openForReading(ctx context.Context, cmd *cobra.Command, arg string) ([]io.Reader, func(), error) {
	cfg, err := loadConfig(cmd)
	if err != nil {
		return nil, nil, err
	}
	store, err := gateway.OpenRecordings(cfg)
	if err != nil {
		return nil, nil, err
	}
	if st, err := os.Stat(arg); err != nil || st.IsDir() {
		if ref, err := store.Find(ctx, arg); err == nil && ref.Err == nil {
			if gfx, err := store.IsGraphical(ctx, ref); err == nil && gfx {
				return nil, nil, fmt.Errorf("session %s is a graphical (%s) session: replay it in the web UI, or export its video with `vigil export --format mp4 %s -o session.mp4`", ref.ID, ref.Session.Protocol, ref.ID)
			}
		}
	}
	return store.OpenSegments(ctx, arg)
}

// exportMP4 writes a graphical session's video segments remuxed into one MP4.
func exportMP4(ctx context.Context, cmd *cobra.Command, arg string, w io.Writer) error {
	cfg, err := loadConfig(cmd)
	if err != nil {
		return err
	}
	store, err := gateway.OpenRecordings(cfg)
	if err != nil {
		return err
	}
	ref, err := store.Find(ctx, arg)
	if err != nil {
		return err
	}
	entries, readers, closeAll, err := store.OpenVideoSegments(ctx, ref)
	if err != nil {
		return err
	}
	defer closeAll()
	if len(entries) == 0 {
		return fmt.Errorf("session %s has no video: it is a text session (use --format asciicast)", ref.ID)
	}
	return video.Concat(w, readers)
}
