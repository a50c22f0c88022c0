package seal

import (
	"bytes"
	"context"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"

	"filippo.io/age"
	"golang.org/x/crypto/ssh"
)

func TestRoundTrip(t *testing.T) {
	for _, n := range []int{0, 1, 4} {
		b := newBackend(t)
		r := record(t, b, "s1", n, true, testKey(1), newIdentity(t))
		rep, err := Verify(context.Background(), b, r.prefix, []ssh.PublicKey{sshPub(t, r.key)})
		if err != nil {
			t.Fatalf("%d segments: Verify: %v", n, err)
		}
		if !rep.OK() || !rep.Final || rep.Cause != "user exit" || rep.Segments != n || rep.Verified != n ||
			rep.Session.ID != "s1" || len(rep.Unverified) != 0 || len(rep.Notes) != 0 {
			t.Errorf("%d segments: report %+v", n, rep)
		}
		for i := 0; i < n; i++ {
			rc, err := OpenSegment(context.Background(), b, r.prefix, i, []age.Identity{newIdentity(t), r.id})
			if err != nil {
				t.Fatalf("OpenSegment %d: %v", i, err)
			}
			got, _ := io.ReadAll(rc)
			rc.Close()
			if !bytes.Equal(got, plaintext(i)) {
				t.Errorf("segment %d decrypts to %d bytes, want the %d written", i, len(got), len(plaintext(i)))
			}
		}
	}
}

func TestOpenSegmentErrors(t *testing.T) {
	b := newBackend(t)
	r := record(t, b, "s1", 3, true, testKey(1), newIdentity(t))
	ctx := context.Background()
	if _, err := OpenSegment(ctx, b, r.prefix, 0, []age.Identity{newIdentity(t)}); err == nil {
		t.Error("OpenSegment with a stranger's identity succeeded")
	} else if _, ok := errors.AsType[*age.NoIdentityMatchError](err); !ok {
		t.Errorf("OpenSegment with a stranger's identity = %v, want NoIdentityMatchError", err)
	}
	if _, err := OpenSegment(ctx, b, r.prefix, 3, []age.Identity{r.id}); !errors.Is(err, ErrMissingSegment) {
		t.Errorf("OpenSegment past the end = %v, want ErrMissingSegment", err)
	}
	seg := r.get(t, SegmentObject(1))
	seg[len(seg)-1] ^= 1
	r.replace(t, SegmentObject(1), seg)
	if _, err := OpenSegment(ctx, b, r.prefix, 1, []age.Identity{r.id}); !errors.Is(err, ErrTampered) {
		t.Errorf("OpenSegment of a flipped segment = %v, want ErrTampered", err)
	}
	r.replace(t, SegmentObject(2), r.get(t, SegmentObject(2))[:100])
	if _, err := OpenSegment(ctx, b, r.prefix, 2, []age.Identity{r.id}); !errors.Is(err, ErrTruncated) {
		t.Errorf("OpenSegment of a truncated segment = %v, want ErrTruncated", err)
	}
}

// TestVerifyNamesTampering damages a recording of four segments in each way FORMAT.md lists and
// checks that Verify names the damage, the object and nothing else.
func TestVerifyNamesTampering(t *testing.T) {
	other := testKey(2)
	tests := []struct {
		name    string
		damage  func(t *testing.T, r rec)
		want    error
		key     string // the object the problem must name
		crashed bool
	}{
		{"flipped byte in segment", func(t *testing.T, r rec) {
			s := r.get(t, SegmentObject(2))
			s[len(s)/2] ^= 0x01
			r.replace(t, SegmentObject(2), s)
		}, ErrTampered, SegmentObject(2), false},
		{"dropped segment", func(t *testing.T, r rec) { r.del(t, SegmentObject(1)) }, ErrMissingSegment, SegmentObject(1), false},
		{"segments swapped", func(t *testing.T, r rec) {
			a, b := r.get(t, SegmentObject(1)), r.get(t, SegmentObject(2))
			r.replace(t, SegmentObject(1), b)
			r.replace(t, SegmentObject(2), a)
		}, ErrOrder, SegmentObject(1), false},
		{"truncated last segment", func(t *testing.T, r rec) {
			s := r.get(t, SegmentObject(3))
			r.replace(t, SegmentObject(3), s[:len(s)-17])
		}, ErrTruncated, SegmentObject(3), false},
		{"segment grown", func(t *testing.T, r rec) {
			r.replace(t, SegmentObject(0), append(r.get(t, SegmentObject(0)), 0))
		}, ErrTampered, SegmentObject(0), false},
		{"edited manifest", func(t *testing.T, r rec) {
			m := r.get(t, FinalName)
			r.replace(t, FinalName, bytes.Replace(m, []byte("user exit"), []byte("user quit"), 1))
		}, ErrBadSignature, FinalName, false},
		{"manifest with a segment removed and re-signed by the node", func(t *testing.T, r rec) {
			m, err := ParseManifest(r.get(t, FinalName))
			if err != nil {
				t.Fatal(err)
			}
			m.Segments = slices.Delete(m.Segments, 1, 2)
			body := mustJSON(t, m)
			r.replace(t, FinalName, body)
			r.replace(t, FinalName+SigSuffix, resign(t, r.key, body))
		}, ErrBadManifest, FinalName, false},
		{"manifest replaced by another session's", func(t *testing.T, r rec) {
			o := record(t, r.b, "s2", 2, true, r.key, r.id)
			r.replace(t, FinalName, o.get(t, FinalName))
			r.replace(t, FinalName+SigSuffix, o.get(t, FinalName+SigSuffix))
		}, ErrTampered, FinalName, false},
		{"checkpoint copied over the final manifest", func(t *testing.T, r rec) {
			r.replace(t, FinalName, r.get(t, CheckpointName(3)))
			r.replace(t, FinalName+SigSuffix, r.get(t, CheckpointName(3)+SigSuffix))
		}, ErrTampered, FinalName, false},
		{"signature by another key", func(t *testing.T, r rec) {
			r.replace(t, FinalName+SigSuffix, resign(t, other, r.get(t, FinalName)))
		}, ErrUnknownSigner, FinalName, false},
		{"signature absent", func(t *testing.T, r rec) { r.del(t, FinalName+SigSuffix) }, ErrBadSignature, FinalName, false},
		{"signature of another manifest", func(t *testing.T, r rec) {
			r.replace(t, FinalName+SigSuffix, r.get(t, CheckpointName(0)+SigSuffix))
		}, ErrBadSignature, FinalName, false},
		{"extra segment", func(t *testing.T, r rec) { r.put(t, SegmentObject(4), r.get(t, SegmentObject(3))) }, ErrTampered, SegmentObject(4), false},
		{"checkpoint edited", func(t *testing.T, r rec) {
			c := r.get(t, CheckpointName(2))
			r.replace(t, CheckpointName(2), bytes.Replace(c, []byte(`"alice"`), []byte(`"mallory"`), 1))
		}, ErrBadSignature, CheckpointName(2), false},
		{"crash: no final manifest", func(t *testing.T, r rec) {
			r.del(t, FinalName)
			r.del(t, FinalName+SigSuffix)
		}, ErrNoFinalManifest, FinalName, true},
		{"crash with a dropped segment", func(t *testing.T, r rec) {
			r.del(t, FinalName)
			r.del(t, FinalName+SigSuffix)
			r.del(t, SegmentObject(2))
		}, ErrMissingSegment, SegmentObject(2), true},
		{"crash with a flipped byte", func(t *testing.T, r rec) {
			r.del(t, FinalName)
			r.del(t, FinalName+SigSuffix)
			s := r.get(t, SegmentObject(0))
			s[0] ^= 0x80
			r.replace(t, SegmentObject(0), s)
		}, ErrTampered, SegmentObject(0), true},
		{"crash with a checkpoint deleted", func(t *testing.T, r rec) {
			r.del(t, FinalName)
			r.del(t, FinalName+SigSuffix)
			r.del(t, CheckpointName(1))
		}, ErrTampered, CheckpointName(1), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newBackend(t)
			r := record(t, b, "s1", 4, true, testKey(1), newIdentity(t))
			tt.damage(t, r)
			rep, err := Verify(context.Background(), b, r.prefix, []ssh.PublicKey{sshPub(t, r.key)})
			if !errors.Is(err, tt.want) {
				t.Fatalf("Verify = %v, want %v", err, tt.want)
			}
			found := false
			for _, p := range rep.Problems {
				if p.Key == tt.key && errors.Is(p, tt.want) {
					found = true
				}
				if !errors.Is(p, tt.want) && !errors.Is(p, ErrNoFinalManifest) &&
					!(errors.Is(tt.want, ErrOrder) && errors.Is(p, ErrOrder)) {
					t.Errorf("unexpected problem %v", p)
				}
			}
			if !found {
				t.Errorf("no problem names %s: %v", tt.key, rep.Problems)
			}
			if tt.crashed && (rep.Final || rep.Cause != CrashCause) {
				t.Errorf("crashed recording reported final=%v cause %q", rep.Final, rep.Cause)
			}
			if !tt.crashed && rep.Cause == CrashCause {
				t.Errorf("finished recording reported as crashed")
			}
		})
	}
}

func TestVerifyCrash(t *testing.T) {
	b := newBackend(t)
	r := record(t, b, "s1", 3, false, testKey(1), newIdentity(t))
	// The crash came after segment 3 was stored but before its checkpoint.
	r.put(t, SegmentObject(3), []byte("sealed bytes no checkpoint covers"))
	rep, err := Verify(context.Background(), b, r.prefix, []ssh.PublicKey{sshPub(t, r.key)})
	if !errors.Is(err, ErrNoFinalManifest) || len(rep.Problems) != 1 {
		t.Fatalf("Verify = %v (%d problems), want only ErrNoFinalManifest", err, len(rep.Problems))
	}
	if rep.Final || rep.Cause != CrashCause || rep.Segments != 3 || rep.Verified != 3 {
		t.Errorf("report %+v, want 3 verified segments ended by crash", rep)
	}
	if !slices.Equal(rep.Unverified, []string{SegmentObject(3)}) {
		t.Errorf("unverified %v, want the trailing segment", rep.Unverified)
	}
	// A crash between a checkpoint and its signature leaves it unsigned: unverified, not tampered.
	r.del(t, CheckpointName(2)+SigSuffix)
	rep, err = Verify(context.Background(), b, r.prefix, []ssh.PublicKey{sshPub(t, r.key)})
	if !errors.Is(err, ErrNoFinalManifest) || len(rep.Problems) != 1 || rep.Verified != 2 {
		t.Fatalf("Verify = %v, %+v, want 2 verified and only ErrNoFinalManifest", err, rep)
	}
	rc, err := OpenSegment(context.Background(), b, r.prefix, 1, []age.Identity{r.id})
	if err != nil {
		t.Fatalf("OpenSegment of a crashed recording: %v", err)
	}
	rc.Close()
}

func TestVerifyNoRecording(t *testing.T) {
	b := newBackend(t)
	if _, err := Verify(context.Background(), b, "recordings/2025/06/01/none/", nil); !errors.Is(err, ErrNoRecording) {
		t.Errorf("Verify of nothing = %v, want ErrNoRecording", err)
	}
}

func TestVerifyUntrustedWhenNoKeys(t *testing.T) {
	b := newBackend(t)
	r := record(t, b, "s1", 2, true, testKey(1), newIdentity(t))
	rep, err := Verify(context.Background(), b, r.prefix, []ssh.PublicKey{sshPub(t, testKey(3))})
	if !errors.Is(err, ErrUnknownSigner) {
		t.Fatalf("Verify with other trusted keys = %v, want ErrUnknownSigner", err)
	}
	// The segments are still checked against the untrusted manifest, so the report says more.
	if rep.Verified != 2 || !strings.Contains(err.Error(), ssh.FingerprintSHA256(sshPub(t, r.key))) {
		t.Errorf("report %+v, error %v: want segments checked and the signer's fingerprint named", rep, err)
	}
}
