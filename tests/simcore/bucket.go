package simcore

import (
	"math"
	"time"
)

// Limit is a rate ceiling: Rate requests per second on average, with bursts
// of up to Burst requests. A zero Rate means no ceiling.
type Limit struct {
	Rate  float64
	Burst int
}

// Bucket is the token bucket that enforces a Limit. The zero Bucket has no
// ceiling. It is not safe for concurrent use: its owner guards it.
type Bucket struct {
	limit  Limit
	tokens float64
	last   time.Time
}

// NewBucket returns a full bucket for l.
func NewBucket(l Limit) Bucket {
	return Bucket{limit: l, tokens: float64(max(l.Burst, 1))}
}

// Allow takes one token and reports whether there was one. It reads now
// only when there is a ceiling, so a counting test clock sees no extra
// calls.
func (b *Bucket) Allow(now func() time.Time) bool {
	if b.limit.Rate <= 0 {
		return true
	}
	t := now()
	burst := float64(max(b.limit.Burst, 1))
	if !b.last.IsZero() {
		b.tokens = math.Min(burst, b.tokens+t.Sub(b.last).Seconds()*b.limit.Rate)
	}
	b.last = t
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}
