package vnc

import (
	"crypto/des"
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"time"
)

// Errors of the one-time passwords.
var (
	// ErrBadOTP: the response matches no outstanding one-time password (wrong, used or expired).
	ErrBadOTP = errors.New("vnc: one-time password refused")
	// ErrRateLimited: too many failed logins from this address; refused without checking.
	ErrRateLimited = errors.New("vnc: too many failed logins")
	// ErrTooManyOTPs: the outstanding one-time passwords are at their limit.
	ErrTooManyOTPs = errors.New("vnc: too many outstanding one-time passwords")
)

// otpAlphabet has no look-alikes (0/O, 1/l/I), so a password read off a screen types right:
// 8 characters of 56 are about 46 bits, and each guess costs a round trip under a rate limit.
const otpAlphabet = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"

// OTPLen is the length of a one-time password: all that VNC Authentication uses.
const OTPLen = 8

// Grant is what a redeemed one-time password names.
type Grant struct{ User, Target string }

type otp struct {
	key     [8]byte // the DES key: the password's bytes, bit-reversed
	grant   Grant
	expires time.Time
}

// OTPs issues and redeems one-time passwords for the RFB front end: each names a user and a
// target, works once, and expires after TTL. Safe for concurrent use.
type OTPs struct {
	TTL time.Duration // default 5 minutes
	// Max bounds the outstanding passwords (default 1024): each one is tried against every
	// response, and more live passwords make a blind guess likelier.
	Max int
	now func() time.Time

	mu  sync.Mutex
	all []otp
}

// NewOTPs returns an empty store with passwords valid for ttl (0: 5 minutes).
func NewOTPs(ttl time.Duration) *OTPs {
	if ttl <= 0 {
		ttl = 5 * time.Minute
	}
	return &OTPs{TTL: ttl, Max: 1024, now: time.Now}
}

// Issue returns a new one-time password for user to reach target. The caller shows it to the
// user once and never logs it. It returns ErrTooManyOTPs at the limit.
func (o *OTPs) Issue(user, target string) (string, error) {
	var raw [OTPLen]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", fmt.Errorf("vnc: issue otp: %w", err)
	}
	pw := make([]byte, OTPLen)
	for i := range pw {
		// 256 % 56 != 0: reject the top values to keep every character equally likely.
		for raw[i] >= byte(256/len(otpAlphabet)*len(otpAlphabet)) {
			var b [1]byte
			rand.Read(b[:])
			raw[i] = b[0]
		}
		pw[i] = otpAlphabet[int(raw[i])%len(otpAlphabet)]
	}
	var e otp
	for i, c := range pw {
		e.key[i] = reverseBits(c)
	}
	e.grant = Grant{User: user, Target: target}
	o.mu.Lock()
	defer o.mu.Unlock()
	now := o.now()
	o.expireLocked(now)
	if o.Max > 0 && len(o.all) >= o.Max {
		return "", ErrTooManyOTPs
	}
	e.expires = now.Add(o.TTL)
	o.all = append(o.all, e)
	return string(pw), nil
}

func (o *OTPs) expireLocked(now time.Time) {
	kept := o.all[:0]
	for _, e := range o.all {
		if now.Before(e.expires) {
			kept = append(kept, e)
		}
	}
	clear(o.all[len(kept):])
	o.all = kept
}

// Redeem finds the password whose VNC Authentication response to challenge is response, removes
// it and returns its grant. Every outstanding password is tried, each compare in constant time,
// so the time taken does not tell which one nearly matched. It returns ErrBadOTP if none does.
func (o *OTPs) Redeem(challenge, response [16]byte) (Grant, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.expireLocked(o.now())
	found := -1
	var want [16]byte
	for i := range o.all {
		block, err := des.NewCipher(o.all[i].key[:])
		if err != nil {
			continue
		}
		block.Encrypt(want[:8], challenge[:8])
		block.Encrypt(want[8:], challenge[8:])
		if subtle.ConstantTimeCompare(want[:], response[:]) == 1 && found < 0 {
			found = i
		}
	}
	clear(want[:])
	if found < 0 {
		return Grant{}, ErrBadOTP
	}
	g := o.all[found].grant
	o.all = append(o.all[:found], o.all[found+1:]...)
	return g, nil
}

// Outstanding returns how many passwords are live.
func (o *OTPs) Outstanding() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.expireLocked(o.now())
	return len(o.all)
}

// failLimiter counts failed logins per source address over a sliding minute.
type failLimiter struct {
	max int
	now func() time.Time
	mu  sync.Mutex
	m   map[netip.Addr][]time.Time
}

func newFailLimiter(max int) *failLimiter {
	return &failLimiter{max: max, now: time.Now, m: make(map[netip.Addr][]time.Time)}
}

// limited reports whether addr has used up its failures for the last minute.
func (l *failLimiter) limited(addr netip.Addr) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.recentLocked(addr)) >= l.max
}

func (l *failLimiter) fail(addr netip.Addr) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.m[addr] = append(l.recentLocked(addr), l.now())
	if len(l.m) > 4096 { // forget idle addresses so a scan cannot grow the map without end
		for a := range l.m {
			if len(l.recentLocked(a)) == 0 {
				delete(l.m, a)
			}
		}
	}
}

func (l *failLimiter) recentLocked(addr netip.Addr) []time.Time {
	cut := l.now().Add(-time.Minute)
	ts := l.m[addr]
	i := 0
	for i < len(ts) && !ts[i].After(cut) {
		i++
	}
	ts = ts[i:]
	if len(ts) == 0 {
		delete(l.m, addr)
		return nil
	}
	l.m[addr] = ts
	return ts
}
