package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"os/user"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/seed18fc72c3/vigil/cmd/gateway"
)

func init() {
	register(newLiveCmd)
	register(newShadowCmd)
	register(func() *cobra.Command { return newLiveActionCmd("pause", "Hold a live session's input until resumed") })
	register(func() *cobra.Command { return newLiveActionCmd("resume", "Let a paused session's input through again") })
	register(func() *cobra.Command {
		return newLiveActionCmd("terminate", "End a live session, telling the user why")
	})
}

// osActor names the auditor running the CLI as the audit log records them.
func osActor() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return "os:" + u.Username
	}
	return fmt.Sprintf("os:uid=%d", os.Getuid())
}

func liveClient(cmd *cobra.Command) (*http.Client, error) {
	cfg, err := loadConfig(cmd)
	if err != nil {
		return nil, err
	}
	return gateway.LiveClient(gateway.ControlPath(cfg)), nil
}

// liveError turns a failed request into an error naming what went wrong.
func liveError(op string, err error, resp *http.Response) error {
	if err != nil {
		return fmt.Errorf("%s: is vigil serve running? %w", op, err)
	}
	var body struct {
		Error string `json:"error"`
	}
	json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&body)
	if body.Error == "" {
		body.Error = resp.Status
	}
	return fmt.Errorf("%s: %s", op, body.Error)
}

func newLiveCmd() *cobra.Command {
	var asJSON bool
	c := &cobra.Command{
		Use:   "live",
		Short: "List the sessions in progress on the running gateway",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			client, err := liveClient(cmd)
			if err != nil {
				return err
			}
			resp, err := client.Get("http://vigil/api/live")
			if err != nil || resp.StatusCode != http.StatusOK {
				return liveError("live", err, resp)
			}
			defer resp.Body.Close()
			var raw []json.RawMessage
			if err := json.NewDecoder(resp.Body).Decode(&raw); err != nil {
				return fmt.Errorf("live: %w", err)
			}
			w := cmd.OutOrStdout()
			if asJSON {
				// The gateway's own objects, whatever fields each kind of session has.
				enc := json.NewEncoder(w)
				enc.SetIndent("", "  ")
				return enc.Encode(raw)
			}
			rows, err := decodeLive(raw)
			if err != nil {
				return err
			}
			return writeLive(w, rows)
		},
	}
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return c
}

// liveRow is one entry of the control socket's GET /api/live: a text session
// (proxy/ssh.LiveSession: columns and rows, no protocol) or a graphical one
// (proxy/desktop.LiveSession: protocol, front end, width and height in pixels).
type liveRow struct {
	ID       string    `json:"id"`
	User     string    `json:"user"`
	Target   string    `json:"target"`
	Account  string    `json:"account"`
	Remote   string    `json:"remote"`
	Protocol string    `json:"protocol"`
	Via      string    `json:"via"`
	Start    time.Time `json:"start"`
	Cols     int       `json:"cols"`
	Rows     int       `json:"rows"`
	Width    int       `json:"width"`
	Height   int       `json:"height"`
	Paused   bool      `json:"paused"`
}

func decodeLive(raw []json.RawMessage) ([]liveRow, error) {
	rows := make([]liveRow, len(raw))
	for i, r := range raw {
		if err := json.Unmarshal(r, &rows[i]); err != nil {
			return nil, fmt.Errorf("live: session %d: %w", i, err)
		}
	}
	return rows, nil
}

// writeLive prints the table of `vigil live`: a text session's size in characters, a desktop's in
// pixels, and the protocol ("text" for the SSH server's sessions, which do not carry theirs).
func writeLive(w io.Writer, rows []liveRow) error {
	tw := tabwriter.NewWriter(w, 2, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "SESSION\tUSER\tTARGET\tACCOUNT\tPROTOCOL\tREMOTE\tSTARTED\tSIZE\tSTATE")
	for _, s := range rows {
		state := "running"
		if s.Paused {
			state = "paused"
		}
		proto, size := s.Protocol, fmt.Sprintf("%dx%d", s.Cols, s.Rows)
		if proto == "" {
			proto = "text"
		} else if s.Width > 0 || s.Height > 0 {
			size = fmt.Sprintf("%dx%d px", s.Width, s.Height)
			if s.Via != "" {
				proto += " (" + s.Via + ")"
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", s.ID, s.User, s.Target, s.Account, proto, s.Remote,
			s.Start.Local().Format(time.RFC3339), size, state)
	}
	return tw.Flush()
}

func newShadowCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "shadow SESSION",
		Short: "Watch a live session in this terminal (read-only) until it ends or Ctrl-C",
		Long: "Prints the session's screen, then follows its output. The view is read-only: nothing typed\n" +
			"here reaches the session. Use a terminal at least as large as the session's (vigil live).",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			client, err := liveClient(cmd)
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return shadow(ctx, client, args[0], cmd.OutOrStdout())
		},
	}
}

// shadow copies the session's stream to w until the session ends (nil) or ctx is done.
func shadow(ctx context.Context, client *http.Client, id string, w io.Writer) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://vigil/api/live/"+url.PathEscape(id)+"/shadow", nil)
	if err != nil {
		return fmt.Errorf("shadow: %w", err)
	}
	resp, err := client.Do(req)
	if err != nil || resp.StatusCode != http.StatusOK {
		if ctx.Err() != nil {
			return nil
		}
		return liveError("shadow "+id, err, resp)
	}
	defer resp.Body.Close()
	_, err = io.Copy(w, resp.Body)
	// Leave the viewer's terminal usable whatever the session left it in: attributes, cursor,
	// alternate screen.
	io.WriteString(w, "\x1b[0m\x1b[?25h\x1b[?1049l\r\n")
	switch {
	case ctx.Err() != nil:
		return nil
	case err != nil:
		return fmt.Errorf("shadow %s: %w", id, err)
	}
	fmt.Fprintf(w, "vigil: session %s ended\r\n", id)
	return nil
}

func newLiveActionCmd(action, short string) *cobra.Command {
	var reason string
	c := &cobra.Command{
		Use:   action + " SESSION",
		Short: short,
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if action == "terminate" && strings.TrimSpace(reason) == "" {
				return errors.New("terminate: --reason is required: the user is shown it")
			}
			client, err := liveClient(cmd)
			if err != nil {
				return err
			}
			return liveAction(client, args[0], action, gateway.LiveAction{By: osActor(), Reason: reason})
		},
	}
	if action != "resume" {
		c.Flags().StringVar(&reason, "reason", "", "why (the audit log records it; terminate shows it to the user)")
	}
	return c
}

func liveAction(client *http.Client, id, action string, a gateway.LiveAction) error {
	body, err := json.Marshal(a)
	if err != nil {
		return err
	}
	resp, err := client.Post("http://vigil/api/live/"+url.PathEscape(id)+"/"+action, "application/json", strings.NewReader(string(body)))
	if err != nil || resp.StatusCode != http.StatusNoContent {
		return liveError(action+" "+id, err, resp)
	}
	resp.Body.Close()
	return nil
}
