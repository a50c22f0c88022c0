package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/seed18fc72c3/vigil/cmd/config"
	"github.com/seed18fc72c3/vigil/cmd/gateway"
	"io"
	"net"
	"net/http"
	"net/url"
	"text/tabwriter"
	"time"

	"github.com/seed18fc72c3/vigil/index"
	"github.com/spf13/cobra"
)

func init() { register(newSearchCmd) }

func newSearchCmd() *cobra.Command {
	var user, target, session, kind, since, until, sortBy string
	var limit int
	var asJSON bool
	c := &cobra.Command{
		Use:   "search QUERY",
		Short: "Search text sessions by what was typed and what was on screen",
		Long: "Search the index of text sessions. Every word and \"exact phrase\" must match unless it starts\n" +
			"with '-'; foo* is a prefix, foo~1 a fuzzy term; '_' and a space match each other.\n" +
			"Times are RFC 3339 or YYYY-MM-DD (local time). Each hit is a line: session, time, offset in\n" +
			"the recording (for vigil play), kind and the line with its matches in [brackets].",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			params := map[string]string{"q": args[0], "user": user, "target": target, "session": session,
				"kind": kind, "since": since, "until": until, "sort": sortBy}
			if limit > 0 {
				params["limit"] = fmt.Sprint(limit)
			}
			q, err := index.ParseQuery(func(k string) string { return params[k] })
			if err != nil {
				return err
			}
			cfg, err := loadConfig(cmd)
			if err != nil {
				return err
			}
			res, err := searchServe(cmd.Context(), cfg, params)
			if errors.Is(err, errNoServe) {
				res, err = searchIndex(cmd.Context(), cfg, q)
			}
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			if asJSON {
				type jsonHit struct {
					index.Hit
					Snippet string `json:"snippet"`
				}
				hits := make([]jsonHit, len(res.Hits))
				for i, h := range res.Hits {
					hits[i] = jsonHit{h, h.Snippet("[", "]")}
				}
				enc := json.NewEncoder(w)
				enc.SetIndent("", "  ")
				return enc.Encode(map[string]any{"hits": hits, "documents": res.Documents})
			}
			tw := tabwriter.NewWriter(w, 2, 8, 2, ' ', 0)
			fmt.Fprintln(tw, "SESSION\tTIME\tOFFSET\tUSER\tTARGET\tKIND\tLINE")
			for _, h := range res.Hits {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", h.Session, h.Time.Local().Format(time.RFC3339),
					h.Offset.Truncate(time.Second), h.User, h.Target, h.Kind, h.Snippet("[", "]"))
			}
			return tw.Flush()
		},
	}
	f := c.Flags()
	f.StringVar(&user, "user", "", "only sessions of this gateway user")
	f.StringVar(&target, "target", "", "only sessions to this target")
	f.StringVar(&session, "session", "", "only this session")
	f.StringVar(&kind, "kind", "", "command or screen")
	f.StringVar(&since, "since", "", "only lines at or after this time")
	f.StringVar(&until, "until", "", "only lines at or before this time")
	f.StringVar(&sortBy, "sort", "time", "time (oldest first) or relevance")
	f.IntVar(&limit, "limit", index.DefaultLimit, "most hits to show")
	f.BoolVar(&asJSON, "json", false, "print JSON")
	return c
}

// errNoServe means no `vigil serve` answers on the control socket.
var errNoServe = errors.New("no running vigil serve")

// searchServe asks a running serve, which holds the index open (Bleve lets one process open it).
func searchServe(ctx context.Context, cfg config.Config, params map[string]string) (index.Result, error) {
	v := url.Values{}
	for k, val := range params {
		if val != "" {
			v.Set(k, val)
		}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://vigil/api/search?"+v.Encode(), nil)
	if err != nil {
		return index.Result{}, err
	}
	resp, err := gateway.ControlClient(cfg).Do(req)
	if err != nil {
		var op *net.OpError
		if errors.As(err, &op) && op.Op == "dial" {
			return index.Result{}, errNoServe
		}
		return index.Result{}, fmt.Errorf("search through vigil serve: %w", err)
	}
	defer resp.Body.Close()
	var body struct {
		index.Result
		Error string `json:"error"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<20)).Decode(&body); err != nil {
		return index.Result{}, fmt.Errorf("search through vigil serve: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return index.Result{}, fmt.Errorf("search: %s", body.Error)
	}
	for i := range body.Hits {
		body.Hits[i].Offset = time.Duration(body.Hits[i].OffsetMS) * time.Millisecond
	}
	return body.Result, nil
}

// searchIndex opens the index itself, when no serve holds it.
func searchIndex(ctx context.Context, cfg config.Config, q index.Query) (index.Result, error) {
	ix, err := index.Open(cfg.Path("index"))
	if err != nil {
		return index.Result{}, err
	}
	defer ix.Close()
	return ix.Search(ctx, q)
}
