package s3

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/seed18fc72c3/vigil/fixtures/testenv"
	"github.com/seed18fc72c3/vigil/storage"
	"github.com/seed18fc72c3/vigil/storage/storagetest"
)

func config(m *testenv.MinIO, prefix string) Config {
	return Config{Endpoint: m.Endpoint, Bucket: m.Bucket, AccessKey: m.AccessKey, SecretKey: m.SecretKey, Prefix: prefix}
}

func newBackend(t *testing.T, cfg Config) *Backend {
	t.Helper()
	b, err := New(context.Background(), cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return b
}

var prefixes atomic.Int64

// uniquePrefix gives each test its own empty corner of the one bucket, as the contract suite
// wants a fresh store per subtest and starting MinIO for each would take minutes.
func uniquePrefix(t *testing.T) string {
	return fmt.Sprintf("t%d-%d/", time.Now().UnixNano(), prefixes.Add(1))
}

func TestContract(t *testing.T) {
	m := testenv.StartMinIO(t)
	storagetest.RunBackendTests(t, func(t *testing.T) storage.Backend {
		return newBackend(t, config(m, uniquePrefix(t)))
	})
}

func put(t *testing.T, b *Backend, key, data string) {
	t.Helper()
	if err := b.Put(context.Background(), key, strings.NewReader(data), int64(len(data))); err != nil {
		t.Fatalf("Put(%s): %v", key, err)
	}
}

func TestRetention(t *testing.T) {
	m := testenv.StartMinIO(t)
	ctx := context.Background()
	tests := []struct {
		name       string
		mode       string
		bypass     bool
		wantDelete bool // whether Delete before retain-until succeeds
	}{
		{"governance", Governance, false, false},
		{"governance bypassed", Governance, true, true},
		{"compliance", Compliance, false, false},
		{"compliance bypass refused", Compliance, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := config(m, uniquePrefix(t))
			cfg.Retention = Retention{Mode: tt.mode, Days: 2}
			cfg.GovernanceBypass = tt.bypass
			b := newBackend(t, cfg)
			before := time.Now()
			put(t, b, "rec/seg", "sealed")
			l, err := b.Lock(ctx, "rec/seg")
			if err != nil {
				t.Fatalf("Lock: %v", err)
			}
			want := before.Add(48 * time.Hour)
			if l.Mode != tt.mode || l.RetainUntil.Before(want.Add(-time.Minute)) || l.RetainUntil.After(want.Add(time.Minute)) || l.LegalHold {
				t.Errorf("Lock = %+v, want %s until about %v, no hold", l, tt.mode, want)
			}
			err = b.Delete(ctx, "rec/seg")
			if tt.wantDelete {
				if err != nil {
					t.Fatalf("Delete with governance bypass: %v", err)
				}
				if _, err := b.Stat(ctx, "rec/seg"); !errors.Is(err, fs.ErrNotExist) {
					t.Errorf("Stat after Delete = %v, want fs.ErrNotExist", err)
				}
				return
			}
			if !errors.Is(err, storage.ErrRetained) {
				t.Fatalf("Delete before retain-until = %v, want ErrRetained", err)
			}
			if !strings.Contains(err.Error(), "rec/seg") || !strings.Contains(err.Error(), "retention until") {
				t.Errorf("Delete error %q should name the key and the retention", err)
			}
			if info, err := b.Stat(ctx, "rec/seg"); err != nil || info.Size != 6 {
				t.Errorf("Stat after refused Delete = %+v, %v; want the object intact", info, err)
			}
		})
	}
}

// TestLegalHold: a hold blocks Delete, even with governance bypass, and lifting it allows Delete
// again. Without retention the hold is the only lock; with GOVERNANCE retention the test deletes
// with bypass, which shows that the hold (not the retention) was what refused.
func TestLegalHold(t *testing.T) {
	m := testenv.StartMinIO(t)
	ctx := context.Background()
	for _, tt := range []struct {
		name string
		ret  Retention
	}{
		{"no retention", Retention{}},
		{"governance with bypass", Retention{Mode: Governance, Days: 1}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := config(m, uniquePrefix(t))
			cfg.Retention = tt.ret
			cfg.GovernanceBypass = tt.ret.Mode != ""
			b := newBackend(t, cfg)
			put(t, b, "rec/manifest", "m")
			if err := b.SetLegalHold(ctx, "rec/manifest", true); err != nil {
				t.Fatalf("SetLegalHold on: %v", err)
			}
			if l, err := b.Lock(ctx, "rec/manifest"); err != nil || !l.LegalHold {
				t.Fatalf("Lock = %+v, %v; want a legal hold", l, err)
			}
			assertTag(t, m, cfg.Prefix+"rec/manifest", TagLegalHold, "on")
			err := b.Delete(ctx, "rec/manifest")
			if !errors.Is(err, storage.ErrRetained) || !strings.Contains(err.Error(), "legal hold") {
				t.Fatalf("Delete under legal hold = %v, want ErrRetained naming the hold", err)
			}
			if err := b.SetLegalHold(ctx, "rec/manifest", false); err != nil {
				t.Fatalf("SetLegalHold off: %v", err)
			}
			assertTag(t, m, cfg.Prefix+"rec/manifest", TagLegalHold, "off")
			if err := b.Delete(ctx, "rec/manifest"); err != nil {
				t.Fatalf("Delete after the hold was lifted: %v", err)
			}
		})
	}
	b := newBackend(t, config(m, uniquePrefix(t)))
	if err := b.SetLegalHold(ctx, "absent", true); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("SetLegalHold of an absent key = %v, want fs.ErrNotExist", err)
	}
	if err := b.SetLegalHold(ctx, "../x", true); !errors.Is(err, storage.ErrInvalidKey) {
		t.Errorf("SetLegalHold of an invalid key = %v, want ErrInvalidKey", err)
	}
}

func assertTag(t *testing.T, m *testenv.MinIO, object, key, want string) {
	t.Helper()
	tags, err := m.Client(t).GetObjectTagging(context.Background(), m.Bucket, object, minio.GetObjectTaggingOptions{})
	if err != nil {
		t.Fatalf("GetObjectTagging(%s): %v", object, err)
	}
	if got := tags.ToMap()[key]; got != want {
		t.Errorf("tag %s of %s = %q, want %q (all: %v)", key, object, got, want, tags.ToMap())
	}
}

// TestTagsAndRetentionOnEveryPut checks what the server holds, not what the backend reports,
// for both the one-request and the multipart path.
func TestTagsAndRetentionOnEveryPut(t *testing.T) {
	m := testenv.StartMinIO(t)
	ctx := context.Background()
	cfg := config(m, uniquePrefix(t))
	cfg.Retention = Retention{Mode: Governance, Days: 3}
	cfg.Tags = map[string]string{"deployment": "test-1"}
	b := newBackend(t, cfg)
	big := bytes.Repeat([]byte("x"), partSize+1)
	for _, tt := range []struct {
		key  string
		data []byte
		size int64
	}{
		{"small", []byte("abc"), 3},
		{"small-unknown", []byte("abc"), -1},
		{"multipart-unknown", big, -1},
	} {
		if err := b.Put(ctx, tt.key, bytes.NewReader(tt.data), tt.size); err != nil {
			t.Fatalf("Put(%s): %v", tt.key, err)
		}
		name := cfg.Prefix + tt.key
		assertTag(t, m, name, TagRetention, "governance-3d")
		assertTag(t, m, name, TagLegalHold, "off")
		assertTag(t, m, name, "deployment", "test-1")
		mode, until, err := m.Client(t).GetObjectRetention(ctx, m.Bucket, name, "")
		if err != nil || mode == nil || *mode != minio.Governance || until == nil || time.Until(*until) < 71*time.Hour {
			t.Errorf("%s: retention %v until %v (%v); want GOVERNANCE about 3 days ahead", tt.key, mode, until, err)
		}
	}
	// Without a retention mode no lock is set and the tag says so.
	cfg.Prefix, cfg.Retention = uniquePrefix(t), Retention{}
	put(t, newBackend(t, cfg), "plain", "p")
	assertTag(t, m, cfg.Prefix+"plain", TagRetention, "none")
}

func TestNewRefusesBucketWithoutObjectLock(t *testing.T) {
	m := testenv.StartMinIO(t)
	ctx := context.Background()
	if err := m.Client(t).MakeBucket(ctx, "unlocked", minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	cfg := config(m, "")
	cfg.Bucket = "unlocked"
	cfg.Retention = Retention{Mode: Compliance, Days: 1}
	if _, err := New(ctx, cfg); err == nil || !strings.Contains(err.Error(), "object lock") {
		t.Errorf("New with retention on a bucket without object lock = %v, want a refusal", err)
	}
	cfg.Bucket = "missing"
	if _, err := New(ctx, cfg); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("New on a missing bucket = %v, want fs.ErrNotExist", err)
	}
}

// TestSecretNotInErrors: a wrong secret and a printed config must not show the secret.
func TestSecretNotInErrors(t *testing.T) {
	m := testenv.StartMinIO(t)
	cfg := config(m, "")
	cfg.SecretKey = "Sup3rS3cretValueThatMustNotLeak"
	_, err := New(context.Background(), cfg)
	if err == nil {
		t.Fatal("New with a wrong secret key succeeded")
	}
	for _, s := range []string{err.Error(), fmt.Sprint(cfg), fmt.Sprintf("%+v", cfg), fmt.Sprintf("%#v", cfg)} {
		if strings.Contains(s, cfg.SecretKey) {
			t.Errorf("secret key leaked in %q", s)
		}
	}
}
