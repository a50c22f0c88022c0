package player

import (
	"net/http"
	"strings"
	"testing"
)

func TestLiveListVisibility(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		user string
		want []string
	}{
		{"alice", []string{"l-alice"}},
		{"bob", []string{"l-bob"}},
		{"carol", []string{"l-alice", "l-bob"}},
		{"dave", []string{"l-alice", "l-bob"}},
	}
	for _, tt := range tests {
		t.Run(tt.user, func(t *testing.T) {
			var list struct{ Sessions []LiveInfo }
			decode(t, f.do(t, f.mustLogin(t, tt.user), "GET", "/api/live", "", nil), &list)
			got := map[string]bool{}
			for _, li := range list.Sessions {
				got[li.ID] = true
			}
			if len(got) != len(tt.want) {
				t.Fatalf("live sessions %v, want %v", got, tt.want)
			}
			for _, id := range tt.want {
				if !got[id] {
					t.Errorf("live sessions %v lack %s", got, id)
				}
			}
		})
	}
}

// TestLiveActions checks what reaches the gateway: the actor is always the login, never the
// body; terminate needs a reason; errors map to their codes; each action is audited.
func TestLiveActions(t *testing.T) {
	f := newFixture(t)
	c := f.mustLogin(t, "carol")
	tests := []struct {
		name, path, body string
		code             int
		call             string // the gateway call it makes, "" for none
	}{
		{"pause with a forged actor", "/api/live/l-bob/pause", `{"by":"mallory","reason":"checking"}`, 200, "pause l-bob carol checking"},
		{"pause again", "/api/live/l-bob/pause", `{"reason":"again"}`, 409, ""},
		{"resume, no body", "/api/live/l-bob/resume", "", 200, "resume l-bob carol"},
		{"terminate without a reason", "/api/live/l-bob/terminate", `{"by":"mallory"}`, 400, ""},
		{"terminate with a blank reason", "/api/live/l-bob/terminate", `{"reason":"   "}`, 400, ""},
		{"terminate malformed", "/api/live/l-bob/terminate", `{"reason":`, 400, ""},
		{"terminate unknown", "/api/live/nope/terminate", `{"reason":"x"}`, 404, ""},
		{"terminate oversized", "/api/live/l-bob/terminate", `{"reason":"` + strings.Repeat("x", maxActionBody) + `"}`, 400, ""},
		{"terminate", "/api/live/l-bob/terminate", `{"by":"mallory","reason":"rm -rf seen"}`, 200, "terminate l-bob carol rm -rf seen"},
		{"unknown action", "/api/live/l-bob/explode", `{}`, 404, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(f.live.callLog())
			r := f.do(t, c, "POST", tt.path, tt.body, nil)
			if r.code != tt.code {
				t.Fatalf("%s = %d %s, want %d", tt.path, r.code, r.body, tt.code)
			}
			calls := f.live.callLog()[before:]
			switch {
			case tt.call == "" && len(calls) != 0:
				t.Errorf("refused request reached the gateway: %v", calls)
			case tt.call != "" && (len(calls) != 1 || calls[0] != tt.call):
				t.Errorf("gateway calls %q, want %q", calls, tt.call)
			}
		})
	}
	kinds := map[string]string{}
	f.mu.Lock()
	for _, e := range f.audits {
		if strings.HasPrefix(e.Kind, "web.live.") {
			if e.User != "carol" || e.Session != "l-bob" {
				t.Errorf("audit event %+v: want user carol, session l-bob", e)
			}
			kinds[e.Kind] = e.Detail
		}
	}
	f.mu.Unlock()
	want := map[string]string{"web.live.pause": "checking", "web.live.resume": "", "web.live.terminate": "rm -rf seen"}
	for k, d := range want {
		if got, ok := kinds[k]; !ok || got != d {
			t.Errorf("audit %s detail %q (present %v), want %q", k, got, ok, d)
		}
	}
}

func TestLiveShadowAudited(t *testing.T) {
	f := newFixture(t)
	c := f.mustLogin(t, "dave")
	if r := f.do(t, c, "GET", "/api/live/nope/shadow", "", map[string]string{"Origin": f.ts.URL}); r.code != http.StatusNotFound {
		t.Errorf("shadow of an unknown session = %d, want 404", r.code)
	}
	r := f.do(t, c, "GET", "/api/live/l-alice/shadow", "", map[string]string{"Origin": f.ts.URL})
	if r.code != 200 || !strings.HasPrefix(r.body, "shadow l-alice") {
		t.Fatalf("shadow = %d %q", r.code, r.body)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, e := range f.audits {
		if e.Kind == "web.live.shadow" && e.User == "dave" && e.Session == "l-alice" {
			return
		}
	}
	t.Errorf("no web.live.shadow audit event for dave: %+v", f.audits)
}

// FuzzLiveActionBody feeds arbitrary bodies to terminate: the answer is 200, 400 or 413-as-400,
// never a server error, and whatever reaches the gateway names the login as the actor.
func FuzzLiveActionBody(f *testing.F) {
	for _, s := range []string{`{"reason":"x"}`, `{"by":"mallory","reason":"y"}`, `{"reason":`, `[]`, `null`, `{"reason":"\u0000"}`} {
		f.Add(s)
	}
	fx := newFixture(f)
	c := fx.mustLogin(f, "dave")
	f.Fuzz(func(t *testing.T, body string) {
		before := len(fx.live.callLog())
		r := fx.do(t, c, "POST", "/api/live/l-alice/terminate", body, nil)
		if r.code != 200 && r.code != 400 {
			t.Fatalf("body %q: %d %s", body, r.code, r.body)
		}
		for _, call := range fx.live.callLog()[before:] {
			if !strings.HasPrefix(call, "terminate l-alice dave ") {
				t.Fatalf("body %q made the call %q", body, call)
			}
		}
	})
}
