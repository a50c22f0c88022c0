package spool

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/seed18fc72c3/vigil/fixtures/testenv"
	"github.com/seed18fc72c3/vigil/storage"
	"github.com/seed18fc72c3/vigil/storage/s3"
	"github.com/seed18fc72c3/vigil/storage/storagetest"
)

var s3Prefixes atomic.Int64

func s3Backend(t *testing.T, m *testenv.MinIO) *s3.Backend {
	t.Helper()
	b, err := s3.New(context.Background(), s3.Config{
		Endpoint: m.Endpoint, Bucket: m.Bucket, AccessKey: m.AccessKey, SecretKey: m.SecretKey,
		Prefix:    fmt.Sprintf("spool%d-%d/", time.Now().UnixNano(), s3Prefixes.Add(1)),
		Retention: s3.Retention{Mode: s3.Governance, Days: 1},
	})
	if err != nil {
		t.Fatalf("s3.New: %v", err)
	}
	return b
}

func TestContractS3(t *testing.T) {
	m := testenv.StartMinIO(t)
	storagetest.RunBackendTests(t, func(t *testing.T) storage.Backend {
		b, err := s3.New(context.Background(), s3.Config{
			Endpoint: m.Endpoint, Bucket: m.Bucket, AccessKey: m.AccessKey, SecretKey: m.SecretKey,
			Prefix: fmt.Sprintf("contract%d-%d/", time.Now().UnixNano(), s3Prefixes.Add(1)),
		})
		if err != nil {
			t.Fatal(err)
		}
		return newSpool(t, fileBackend(t, t.TempDir()), b, fastRetry)
	})
}

// TestMinIOOutage takes the real MinIO down for a few seconds in the middle of a sequence of
// Puts (as a recorder makes them, one segment at a time) and brings it back: every Put returns
// promptly, and every object arrives, in order, none lost. The gateway-level test uses a longer
// outage; a few seconds exercise the same paths here.
func TestMinIOOutage(t *testing.T) {
	m := testenv.StartMinIO(t)
	local := fileBackend(t, t.TempDir())
	rem := &remote{Backend: s3Backend(t, m)}
	var logs strings.Builder
	logger := slog.New(slog.NewTextHandler(&syncWriter{w: &logs}, nil))
	s := newSpool(t, local, rem, Options{RetryMin: 100 * time.Millisecond, RetryMax: time.Second, CheckTimeout: time.Second, Logger: logger})
	const n, downAt, upAt = 30, 8, 22
	for i := range n {
		switch i {
		case downAt:
			m.Stop()
		case upAt:
			m.Start()
		}
		putN(t, s, i, i+1)
		time.Sleep(200 * time.Millisecond)
	}
	flush(t, s, 60*time.Second)
	if got := rem.order(); !slices.Equal(got, wantKeys(0, n)) {
		t.Fatalf("upload order %q, want %q", got, wantKeys(0, n))
	}
	assertRemoteHas(t, rem, 0, n)
	assertSpoolEmpty(t, local)
	if !strings.Contains(logs.String(), "upload failed") {
		t.Error("no upload failure was logged: was MinIO really down during the Puts?")
	}
	if strings.Contains(logs.String(), m.SecretKey) {
		t.Error("the secret key appears in the spool's log")
	}
}
