package access

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"runtime"
	"strings"
	"sync"

	"golang.org/x/crypto/argon2"
)

// Argon2Params are the argon2id cost parameters of new password hashes. Verification uses the
// parameters written in each hash, so raising these later leaves old hashes working.
type Argon2Params struct {
	Memory  uint32 // KiB
	Time    uint32
	Threads uint8
	SaltLen uint32
	KeyLen  uint32
}

// DefaultArgon2 follows OWASP's argon2id guidance (m=19 MiB, t=2, p=1): about 30-60 ms on this
// machine class and 19 MiB per login in flight. A gateway authenticates many users at once on a
// few cores, so memory per hash is kept moderate and concurrency is bounded (hashSlots) rather
// than using RFC 9106's 2 GiB first choice.
var DefaultArgon2 = Argon2Params{Memory: 19 * 1024, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}

// Limits on parameters read from a stored hash, so that a hash planted in a config file cannot make
// one login allocate gigabytes.
const (
	maxMemory  = 1 << 20 // 1 GiB in KiB
	maxTime    = 16
	maxThreads = 16
)

// hashSlots bounds how many argon2 computations run at once: a burst of logins queues instead of
// multiplying memory use (each one holds Memory KiB).
var hashSlots = make(chan struct{}, max(2, runtime.GOMAXPROCS(0)))

// HashPassword returns the argon2id hash of pw in the PHC string format:
// $argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash> (unpadded standard base64).
func HashPassword(pw []byte) (string, error) {
	return hashWith(pw, DefaultArgon2)
}

func hashWith(pw []byte, p Argon2Params) (string, error) {
	if len(pw) == 0 {
		return "", invalid("empty password")
	}
	salt := make([]byte, p.SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("access: hash password: %w", err)
	}
	sum := idKey(pw, salt, p)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.Memory, p.Time, p.Threads,
		b64.EncodeToString(salt), b64.EncodeToString(sum)), nil
}

func idKey(pw, salt []byte, p Argon2Params) []byte {
	hashSlots <- struct{}{}
	defer func() { <-hashSlots }()
	return argon2.IDKey(pw, salt, p.Time, p.Memory, p.Threads, p.KeyLen)
}

type phc struct {
	params Argon2Params
	salt   []byte
	sum    []byte
}

func parsePHC(s string) (phc, error) {
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return phc{}, invalid("not an argon2id PHC string")
	}
	var v int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &v); err != nil || v != argon2.Version {
		return phc{}, invalid("argon2 version %q", parts[2])
	}
	var h phc
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &h.params.Memory, &h.params.Time, &h.params.Threads); err != nil {
		return phc{}, invalid("argon2 parameters %q", parts[3])
	}
	p := h.params
	if p.Memory < 8*uint32(p.Threads) || p.Memory > maxMemory || p.Time < 1 || p.Time > maxTime ||
		p.Threads < 1 || p.Threads > maxThreads {
		return phc{}, invalid("argon2 parameters %q out of range", parts[3])
	}
	var err1, err2 error
	h.salt, err1 = base64.RawStdEncoding.DecodeString(parts[4])
	h.sum, err2 = base64.RawStdEncoding.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(h.salt) < 8 || len(h.sum) < 16 || len(h.sum) > 128 {
		return phc{}, invalid("argon2 salt or hash")
	}
	h.params.KeyLen = uint32(len(h.sum))
	return h, nil
}

// verifyPassword reports whether pw matches the PHC hash. A malformed hash matches nothing.
func verifyPassword(hash string, pw []byte) bool {
	h, err := parsePHC(hash)
	if err != nil {
		return false
	}
	return subtle.ConstantTimeCompare(idKey(pw, h.salt, h.params), h.sum) == 1
}

var dummyHash = sync.OnceValue(func() string {
	h, err := HashPassword([]byte("vigil: no such user"))
	if err != nil {
		panic(err) // only crypto/rand can fail here, and then nothing works
	}
	return h
})
