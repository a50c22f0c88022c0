package gateway_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/seed18fc72c3/vigil/access"
	"github.com/seed18fc72c3/vigil/cmd/gateway"
	"github.com/seed18fc72c3/vigil/index"
	"github.com/seed18fc72c3/vigil/player"
)

type noSessions struct{}

func (noSessions) List(context.Context) ([]player.SessionInfo, error) { return nil, nil }
func (noSessions) Get(_ context.Context, id string) (player.SessionInfo, []player.Segment, error) {
	return player.SessionInfo{}, nil, player.ErrNotFound
}
func (noSessions) OpenSegment(context.Context, string, int) (io.ReadCloser, error) {
	return nil, player.ErrNotFound
}
func (noSessions) Verify(context.Context, string) error { return player.ErrNotFound }

type noSearch struct{}

func (noSearch) Search(context.Context, index.Query) (index.Result, error) {
	return index.Result{}, nil
}

// TestWebAuthFollowsStore: a web login's role follows the access store, changed by another Store
// on the same file as `vigil user` would from another process: a demoted auditor becomes a user
// on the next request, and a deleted user's login ends.
func TestWebAuthFollowsStore(t *testing.T) {
	path := filepath.Join(t.TempDir(), "access.json")
	acc, err := access.OpenStore(path, access.Config{})
	if err != nil {
		t.Fatal(err)
	}
	hash, err := access.HashPassword([]byte("carol-pw"))
	if err != nil {
		t.Fatal(err)
	}
	carol := access.User{Name: "carol", PasswordHash: hash, Role: access.RoleAuditor}
	if err := acc.AddUser(carol); err != nil {
		t.Fatal(err)
	}
	auth := &gateway.WebAuth{Store: acc}
	if u, err := auth.User(context.Background(), "carol"); err != nil || u.Role != player.RoleAuditor {
		t.Fatalf("User(carol) = %+v, %v", u, err)
	}
	if _, err := auth.User(context.Background(), "nobody"); !errors.Is(err, player.ErrNotFound) {
		t.Fatalf("User(nobody) = %v, want ErrNotFound", err)
	}

	srv, err := player.NewServer(player.Config{Auth: auth, Sessions: noSessions{}, Search: noSearch{}})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	defer ts.Close()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	resp, err := c.Post(ts.URL+"/api/login", "application/json", strings.NewReader(`{"user":"carol","password":"carol-pw"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("login: %d", resp.StatusCode)
	}
	me := func() (int, string) {
		t.Helper()
		resp, err := c.Get(ts.URL + "/api/me")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]string
		json.NewDecoder(resp.Body).Decode(&m)
		return resp.StatusCode, m["role"]
	}
	if code, role := me(); code != 200 || role != "auditor" {
		t.Fatalf("me = %d %q, want 200 auditor", code, role)
	}

	// Another process (a second Store on the same file) demotes carol.
	other, err := access.OpenStore(path, access.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if err := other.RemoveUser("carol"); err != nil {
		t.Fatal(err)
	}
	carol.Role = access.RoleUser
	if err := other.AddUser(carol); err != nil {
		t.Fatal(err)
	}
	if code, role := me(); code != 200 || role != "user" {
		t.Errorf("me after the demotion = %d %q, want 200 user", code, role)
	}
	if err := other.RemoveUser("carol"); err != nil {
		t.Fatal(err)
	}
	if code, _ := me(); code != http.StatusUnauthorized {
		t.Errorf("me after the deletion = %d, want 401", code)
	}
}

// BenchmarkWebAuthUser is the cost every web request now pays to re-read its user: a stat of the
// access file and a copy of the user list, for stores of a few and of many users.
func BenchmarkWebAuthUser(b *testing.B) {
	for _, n := range []int{10, 1000} {
		b.Run(fmt.Sprintf("users=%d", n), func(b *testing.B) {
			acc, err := access.OpenStore(filepath.Join(b.TempDir(), "access.json"), access.Config{})
			if err != nil {
				b.Fatal(err)
			}
			for i := range n {
				if err := acc.AddUser(access.User{Name: fmt.Sprintf("u%04d", i), Role: access.RoleUser}); err != nil {
					b.Fatal(err)
				}
			}
			auth := &gateway.WebAuth{Store: acc}
			name := fmt.Sprintf("u%04d", n-1)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := auth.User(context.Background(), name); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
