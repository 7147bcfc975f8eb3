package main

import (
	"fmt"
	"math/bits"
	"sync/atomic"
	"time"
)

// histSub is the number of sub-buckets per power of two: values are kept
// to within 1/histSub (under 1%).
const histSub = 128

// histogram counts durations in microseconds in log-linear buckets. It is
// safe for concurrent use and never allocates after creation.
type histogram struct {
	buckets [histSub * 40]atomic.Uint64
	count   atomic.Uint64
	maxUS   atomic.Uint64
}

func bucketOf(us uint64) int {
	if us < histSub {
		return int(us)
	}
	shift := bits.Len64(us) - 8 // us>>shift is in [128, 256)
	i := histSub*shift + int(us>>shift)
	return min(i, len(histogram{}.buckets)-1)
}

// lowerBound returns the smallest value, in microseconds, of bucket i.
func lowerBound(i int) uint64 {
	if i < 2*histSub {
		return uint64(i)
	}
	shift := i/histSub - 1
	return uint64(i-histSub*shift) << shift
}

// add records d.
func (h *histogram) add(d time.Duration) {
	us := uint64(max(d, 0) / time.Microsecond)
	h.buckets[bucketOf(us)].Add(1)
	h.count.Add(1)
	for {
		m := h.maxUS.Load()
		if us <= m || h.maxUS.CompareAndSwap(m, us) {
			break
		}
	}
}

// quantile returns the value below which a fraction q of the samples lie.
func (h *histogram) quantile(q float64) time.Duration {
	n := h.count.Load()
	if n == 0 {
		return 0
	}
	rank := uint64(q*float64(n-1)) + 1
	var seen uint64
	for i := range h.buckets {
		seen += h.buckets[i].Load()
		if seen >= rank {
			return time.Duration(lowerBound(i)) * time.Microsecond
		}
	}
	return h.max()
}

func (h *histogram) max() time.Duration {
	return time.Duration(h.maxUS.Load()) * time.Microsecond
}

// summary reads "p50 1.2ms p99 3.4ms max 5.6ms (n 1000)".
func (h *histogram) summary() string {
	return fmt.Sprintf("p50 %s  p99 %s  max %s  (n %d)",
		ms(h.quantile(0.50)), ms(h.quantile(0.99)), ms(h.max()), h.count.Load())
}

// ms formats d in milliseconds with two decimals.
func ms(d time.Duration) string {
	return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond))
}
