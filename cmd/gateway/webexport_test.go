package gateway_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/seed18fc72c3/vigil/access"
	"github.com/seed18fc72c3/vigil/cmd/gateway"
	"github.com/seed18fc72c3/vigil/player"
)

// TestWebExporterMayExport: the permission is read from the store at each call, so revoking it
// stops the download of a bundle made before.
func TestWebExporterMayExport(t *testing.T) {
	dir := t.TempDir()
	acc, err := access.OpenStore(filepath.Join(dir, "access.json"), access.Config{})
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []access.User{
		{Name: "alice", Role: access.RoleAuditor, Export: true},
		{Name: "bob", Role: access.RoleAuditor},
		{Name: "carol", Role: access.RoleUser, Export: true},
		{Name: "dave", Role: access.RoleAdmin, Export: true},
	} {
		if err := acc.AddUser(u); err != nil {
			t.Fatal(err)
		}
	}
	e := &gateway.WebExporter{Store: acc}
	ctx := context.Background()
	for _, tc := range []struct {
		user string
		may  bool
	}{{"alice", true}, {"bob", false}, {"carol", false}, {"dave", true}, {"nobody", false}} {
		err := e.MayExport(ctx, player.User{Name: tc.user, Role: player.RoleAuditor})
		if (err == nil) != tc.may || (err != nil && !errors.Is(err, player.ErrExportForbidden)) {
			t.Errorf("%s: %v, want may=%v", tc.user, err, tc.may)
		}
	}
	if err := acc.SetExport("alice", false); err != nil {
		t.Fatal(err)
	}
	if err := e.MayExport(ctx, player.User{Name: "alice", Role: player.RoleAuditor}); !errors.Is(err, player.ErrExportForbidden) {
		t.Errorf("alice after the permission was revoked: %v", err)
	}
}
