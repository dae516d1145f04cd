package auth

import (
	"sync"
	"time"
)

// Failed attempts are limited per client address with a token bucket:
// limitBurst failures at once, then one more every limitEvery (so a full
// bucket again after a minute); an address with none left gets 429.
// Keys are 256 random bits, so guessing is hopeless anyway: the limit
// keeps a scanner from filling the log and the audit log.
const (
	limitBurst     = 10
	limitEvery     = 6 * time.Second
	limitAddresses = 4096
)

// overflowAddr is the bucket every address shares once limitAddresses
// are tracked, so that memory stays bounded however many addresses try.
const overflowAddr = "\x00overflow"

type bucket struct {
	tokens float64
	at     time.Time
}

type limiter struct {
	now func() time.Time

	mu      sync.Mutex
	buckets map[string]*bucket
	swept   time.Time // the last sweep of a full table
}

func newLimiter(now func() time.Time) *limiter {
	return &limiter{now: now, buckets: map[string]*bucket{}}
}

// refill brings b up to now; a full bucket is reported.
func refill(b *bucket, now time.Time) bool {
	b.tokens = min(limitBurst, b.tokens+float64(now.Sub(b.at))/float64(limitEvery))
	b.at = now
	return b.tokens >= limitBurst
}

// blocked is how long addr must wait before trying again, 0 when it may.
func (l *limiter) blocked(addr string) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.buckets[addr]
	if b == nil {
		b = l.buckets[overflowAddr]
		if b == nil || len(l.buckets) < limitAddresses {
			return 0
		}
	}
	refill(b, l.now())
	if b.tokens >= 1 {
		return 0
	}
	return time.Duration((1 - b.tokens) * float64(limitEvery))
}

// fail counts a failed attempt from addr.
func (l *limiter) fail(addr string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	b := l.buckets[addr]
	if b == nil {
		if len(l.buckets) >= limitAddresses && now.Sub(l.swept) >= limitEvery {
			// Forget the addresses that have recovered (at most once per
			// refill, so a flood of new addresses costs no more than a
			// map lookup each); if that is not enough, this one shares
			// the overflow bucket.
			l.swept = now
			for k, v := range l.buckets {
				if k != overflowAddr && refill(v, now) {
					delete(l.buckets, k)
				}
			}
		}
		if len(l.buckets) >= limitAddresses {
			addr = overflowAddr
			b = l.buckets[addr]
		}
		if b == nil {
			b = &bucket{tokens: limitBurst, at: now}
			l.buckets[addr] = b
		}
	}
	refill(b, now)
	b.tokens = max(0, b.tokens-1)
}
