package scheduler

import (
	"strings"
	"testing"
	"time"
)

func TestCronNext(t *testing.T) {
	base := time.Date(2026, 11, 22, 10, 30, 0, 0, time.UTC) // a Sunday
	cases := []struct {
		expr string
		want time.Time
	}{
		{"* * * * *", time.Date(2026, 11, 22, 10, 31, 0, 0, time.UTC)},
		{"0 6 * * *", time.Date(2026, 11, 23, 6, 0, 0, 0, time.UTC)},
		{"15 * * * *", time.Date(2026, 11, 22, 11, 15, 0, 0, time.UTC)},
		{"*/20 * * * *", time.Date(2026, 11, 22, 10, 40, 0, 0, time.UTC)},
		{"0 9 * * mon-fri", time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)},
		{"0 0 1 jan *", time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)},
		{"30 10 22 11 *", time.Date(2027, 11, 22, 10, 30, 0, 0, time.UTC)},
		{"0 12 * * 7", time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)},
		{"0 0 13 * 5", time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC)}, // Friday the 27th comes before the 13th
	}
	for _, tc := range cases {
		s, err := ParseCron(tc.expr)
		if err != nil {
			t.Fatalf("%s: %v", tc.expr, err)
		}
		got, ok := s.Next(base)
		if !ok || !got.Equal(tc.want) {
			t.Errorf("%s: next after %s = %s, want %s", tc.expr, base, got, tc.want)
		}
	}
}

func TestCronRejectsBadExpressions(t *testing.T) {
	for _, expr := range []string{"", "* * * *", "60 * * * *", "* 24 * * *", "*/0 * * * *", "a * * * *", "5-1 * * * *", "* * 0 * *"} {
		if _, err := ParseCron(expr); err == nil {
			t.Errorf("%q: want an error", expr)
		}
	}
}

// A date that never comes is refused when the expression is read, so that
// `sam schedule` says so before it opens anything. Before, the schedule
// started and then stopped with "never fires" (exit 1). 29 February comes.
func TestCronImpossibleDateIsRefused(t *testing.T) {
	for _, expr := range []string{"0 0 30 2 *", "0 0 31 4,6,9,11 *"} {
		if _, err := ParseCron(expr); err == nil || !strings.Contains(err.Error(), "never fires") {
			t.Errorf("%q: err = %v, want it refused as never firing", expr, err)
		}
	}
	s, err := ParseCron("0 0 29 2 *")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := s.Next(time.Now()); !ok {
		t.Fatal("29 February comes every four years")
	}
}

func TestCronSundayAsSeven(t *testing.T) {
	base := time.Date(2026, 11, 18, 10, 30, 0, 0, time.UTC) // a Wednesday
	for expr, want := range map[string]time.Time{
		"0 12 * * 5-7":   time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC),
		"0 12 * * 6-7":   time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC),
		"0 12 * * 7-7":   time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC),
		"0 12 * * 4-7/3": time.Date(2026, 11, 19, 12, 0, 0, 0, time.UTC),
		"0 12 * * 5-7/3": time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC),
		"0 12 * * 1,7":   time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC),
	} {
		s, err := ParseCron(expr)
		if err != nil {
			t.Fatalf("%s: %v", expr, err)
		}
		if got, ok := s.Next(base); !ok || !got.Equal(want) {
			t.Errorf("%s: next after %s = %s, want %s", expr, base, got, want)
		}
	}
	// 5-7/3 is Friday only: Sunday (7) is not on the step.
	s, _ := ParseCron("0 12 * * 5-7/3")
	if got, _ := s.Next(time.Date(2026, 11, 20, 13, 0, 0, 0, time.UTC)); got.Weekday() != time.Friday {
		t.Errorf("5-7/3 matched %s, want Fridays only", got.Weekday())
	}
}
