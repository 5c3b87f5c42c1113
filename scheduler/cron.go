package scheduler

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

// Schedule is a parsed five-field cron expression (minute hour
// day-of-month month day-of-week), the syntax Cloud Scheduler uses. The
// parsing and matching are github.com/robfig/cron/v3's.
type Schedule struct {
	spec cron.Schedule
	expr string
}

// String returns the expression the schedule was parsed from.
func (s *Schedule) String() string { return s.expr }

// fiveFields is standard cron without descriptors (@daily, @every): what
// Cloud Scheduler accepts.
var fiveFields = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow)

// ParseCron parses "M H DoM Mon DoW" with *, lists, ranges, steps and
// month/day names. Sunday is 0 or 7.
func ParseCron(expr string) (*Schedule, error) {
	fields := strings.Fields(expr)
	if len(fields) != 5 {
		return nil, fmt.Errorf("cron %q: want 5 fields (minute hour day-of-month month day-of-week), got %d", expr, len(fields))
	}
	dow, err := sundayAsZero(fields[4])
	if err != nil {
		return nil, fmt.Errorf("cron %q: day of week: %w", expr, err)
	}
	fields[4] = dow
	spec, err := fiveFields.Parse(strings.Join(fields, " "))
	if err != nil {
		return nil, fmt.Errorf("cron %q: %w", expr, err)
	}
	// From the start of a leap year, any date that exists comes within the
	// five years Next looks ahead.
	if spec.Next(time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)).IsZero() {
		return nil, fmt.Errorf("cron %q never fires: no month has that day", expr)
	}
	return &Schedule{spec: spec, expr: expr}, nil
}

// sundayAsZero rewrites day-of-week 7, which Cloud Scheduler and most crons
// accept for Sunday and robfig/cron does not, as 0: "7" becomes "0", and a
// range ending at 7 ends at 6 with Sunday added when its step reaches 7.
func sundayAsZero(field string) (string, error) {
	items := strings.Split(field, ",")
	for i, item := range items {
		base, step, hasStep := strings.Cut(item, "/")
		lo, hi, isRange := strings.Cut(base, "-")
		if !isRange {
			if base == "7" {
				items[i] = "0"
				if hasStep {
					items[i] += "/" + step
				}
			}
			continue
		}
		if hi != "7" {
			continue
		}
		from, err := strconv.Atoi(lo)
		if err != nil {
			from, err = dayNumber(lo)
			if err != nil {
				return "", err
			}
		}
		by := 1
		if hasStep {
			if by, err = strconv.Atoi(step); err != nil || by <= 0 {
				return "", fmt.Errorf("bad step %q", step)
			}
		}
		sunday := (7-from)%by == 0
		switch {
		case from == 7:
			items[i] = "0"
		case from > 6:
			return "", fmt.Errorf("range %q starts after it ends", base)
		default:
			items[i] = fmt.Sprintf("%d-6/%d", from, by)
			if sunday {
				items[i] += ",0"
			}
		}
	}
	return strings.Join(items, ","), nil
}

func dayNumber(name string) (int, error) {
	for i, d := range []string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"} {
		if strings.EqualFold(name, d) {
			return i, nil
		}
	}
	return 0, fmt.Errorf("unknown day %q", name)
}

// Next returns the first time strictly after t that matches, in t's
// location. It gives up after five years (an impossible date like 30 Feb).
func (s *Schedule) Next(t time.Time) (time.Time, bool) {
	next := s.spec.Next(t)
	return next, !next.IsZero()
}
