package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/seed18fc72c3/vigil/fixtures/testenv"
	"github.com/seed18fc72c3/vigil/storage"
	"github.com/seed18fc72c3/vigil/storage/s3"
)

// fakeHolder records the holds set on a fixed list of objects.
type fakeHolder struct {
	keys []string
	held map[string]bool
}

func (f *fakeHolder) List(_ context.Context, prefix string) ([]storage.ObjectInfo, error) {
	var infos []storage.ObjectInfo
	for _, k := range f.keys {
		if strings.HasPrefix(k, prefix) {
			infos = append(infos, storage.ObjectInfo{Key: k})
		}
	}
	return infos, nil
}

func (f *fakeHolder) SetLegalHold(_ context.Context, key string, on bool) error {
	f.held[key] = on
	return nil
}

func TestSetSessionHold(t *testing.T) {
	keys := []string{
		"recordings/2025/03/07/s1/seg-00000000.vlog",
		"recordings/2025/03/07/s1/manifest",
		"recordings/2025/03/07/s10/seg-00000000.vlog", // a session whose id extends s1's
		"recordings/2025/03/08/s2/manifest",
	}
	day := time.Date(2025, 3, 7, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name    string
		session string
		day     time.Time
		want    []string
		wantErr error
	}{
		{"by date", "s1", day, keys[:2], nil},
		{"scanning", "s1", time.Time{}, keys[:2], nil},
		{"other session", "s2", time.Time{}, keys[3:], nil},
		{"wrong date", "s2", day, nil, errNoRecording},
		{"absent", "nope", time.Time{}, nil, errNoRecording},
		{"bad id", "../s1", time.Time{}, nil, storage.ErrInvalidKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeHolder{keys: keys, held: map[string]bool{}}
			n, err := setSessionHold(context.Background(), f, tt.session, tt.day, true, io.Discard)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				return
			}
			var got []string
			for k, on := range f.held {
				if on {
					got = append(got, k)
				}
			}
			slices.Sort(got)
			want := slices.Sorted(slices.Values(tt.want))
			if err != nil || n != len(want) || !slices.Equal(got, want) {
				t.Fatalf("held %q (n=%d, %v), want %q", got, n, err, want)
			}
		})
	}
}

// TestLegalHoldCommand runs `vigil legal-hold` against real MinIO: set makes Delete fail with
// ErrRetained, clear allows it.
func TestLegalHoldCommand(t *testing.T) {
	m := testenv.StartMinIO(t)
	ctx := context.Background()
	b, err := openS3FromConfig(ctx, m.Endpoint, m.Bucket, "", m.AccessKey, m.SecretKey, false, "lh/")
	if err != nil {
		t.Fatal(err)
	}
	key := "recordings/2025/03/07/sess-1/manifest"
	if err := b.Put(ctx, key, strings.NewReader("m"), 1); err != nil {
		t.Fatal(err)
	}
	t.Setenv("VIGIL_S3_SECRET_KEY", m.SecretKey)
	data := t.TempDir()
	run := func(verb string) string {
		t.Helper()
		root := newRootCmd()
		var out bytes.Buffer
		root.SetOut(&out)
		root.SetErr(&out)
		root.SetArgs([]string{"--data-dir", data, "legal-hold", verb, "sess-1", "--s3-endpoint", m.Endpoint, "--s3-bucket", m.Bucket,
			"--s3-access-key", m.AccessKey, "--s3-tls=false", "--s3-prefix", "lh/", "--date", "2025-03-07"})
		if err := root.ExecuteContext(ctx); err != nil {
			t.Fatalf("legal-hold %s: %v\n%s", verb, err, out.String())
		}
		if strings.Contains(out.String(), m.SecretKey) {
			t.Errorf("output shows the secret key")
		}
		return out.String()
	}
	if out := run("set"); !strings.Contains(out, "1 objects") {
		t.Errorf("set output %q, want a count of 1", out)
	}
	if b, err := os.ReadFile(filepath.Join(data, "audit.jsonl")); err != nil || !strings.Contains(string(b), `"kind":"legal-hold-set"`) || !strings.Contains(string(b), `"session":"sess-1"`) {
		t.Errorf("audit log after legal-hold set: %v\n%s", err, b)
	}
	if err := b.Delete(ctx, key); !errors.Is(err, storage.ErrRetained) {
		t.Fatalf("Delete under hold = %v, want ErrRetained", err)
	}
	if l, err := b.Lock(ctx, key); err != nil || !l.LegalHold {
		t.Fatalf("Lock = %+v, %v; want held", l, err)
	}
	run("clear")
	if err := b.Delete(ctx, key); err != nil {
		t.Fatalf("Delete after clear: %v", err)
	}
	var _ legalHolder = (*s3.Backend)(nil)
}
