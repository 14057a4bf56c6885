package logging

import (
	"maps"
	"sync"
	"testing"
	"time"
)

func TestLimiterWritesAFewOfEachKindAndSummarisesTheRest(t *testing.T) {
	tests := []struct {
		name    string
		kinds   int // kinds 1 to kinds, each logged
		each    int // this many times
		written int
		summary map[int]int // held back by kind; 0 for the kinds beyond LimitKinds
	}{
		{"a few of one kind", 1, LimitPerKind, LimitPerKind, map[int]int{}},
		{"a flood of one kind", 1, 25, LimitPerKind, map[int]int{1: 25 - LimitPerKind}},
		{"a flood of many kinds stops at LimitAll", 12, 12, LimitAll, map[int]int{
			1: 2, 2: 2, 3: 2, 4: 2, 5: 2, 6: 2, 7: 2, 8: 2, 9: 2, 10: 2, 11: 12, 12: 12,
		}},
		{"kinds beyond LimitKinds are summarised together", LimitKinds + 6, 1, LimitKinds, map[int]int{0: 6}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var mu sync.Mutex
			got := map[int]int{}
			l := NewLimiter(func(kind, count int) {
				mu.Lock()
				defer mu.Unlock()
				got[kind] += count
			})
			written := 0
			// Kind by kind, as a flood of each comes one after another.
			for kind := 1; kind <= tt.kinds; kind++ {
				for range tt.each {
					if l.Allow(kind) {
						written++
					}
				}
			}
			l.Flush()
			mu.Lock()
			defer mu.Unlock()
			if written != tt.written {
				t.Errorf("%d records written, want %d", written, tt.written)
			}
			if !maps.Equal(got, tt.summary) {
				t.Errorf("summaries %v, want %v", got, tt.summary)
			}
			held := 0
			for _, n := range tt.summary {
				held += n
			}
			if n := l.Suppressed(); n != uint64(held) {
				t.Errorf("Suppressed() = %d, want %d", n, held)
			}
			if !l.Allow(1) {
				t.Error("the next second held back its first record")
			}
		})
	}
}

// The summary is written when the second is over, without a Flush, and the
// second after it lets records through again.
func TestLimiterSummarisesWhenTheSecondIsOver(t *testing.T) {
	summaries := make(chan int, 2)
	l := NewLimiter(func(_ string, count int) { summaries <- count })
	for range LimitPerKind + 3 {
		l.Allow("db down")
	}
	select {
	case n := <-summaries:
		if n != 3 {
			t.Fatalf("summary counts %d, want 3", n)
		}
	case <-time.After(limitWindow + 2*time.Second):
		t.Fatal("no summary after the second was over")
	}
	if !l.Allow("db down") {
		t.Fatal("the next second held back its first record")
	}
}
