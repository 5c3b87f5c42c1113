package attribution

import (
	"fmt"
	"sort"
	"strings"
)

// Path is one distinct journey: its states in order, how many journeys took
// it and how many of those converted.
type Path struct {
	States      []string
	Journeys    int64
	Conversions int64
}

// Other is the state rare states are pooled into.
const Other = "Other"

// Transform names a path transform. The names and meanings are
// fractribution's (its README, "path_transform"), for the path
// (D, A, B, B, C, D, C, C):
type Transform string

const (
	// Unique is the identity: (D, A, B, B, C, D, C, C). SAM's default, so
	// that a repeated visit through a channel counts as a transition.
	Unique Transform = "unique"
	// Exposure collapses sequential repeats: (D, A, B, C, D, C).
	// fractribution's default.
	Exposure Transform = "exposure"
	// First keeps each state's first occurrence only: (D, A, B, C).
	First Transform = "first"
)

// ParseTransform checks a transform name.
func ParseTransform(s string) (Transform, error) {
	switch t := Transform(s); t {
	case Unique, Exposure, First:
		return t, nil
	}
	return "", fmt.Errorf("path transform %q: want unique, exposure or first", s)
}

// Apply returns the transformed states; the input is not modified.
func (t Transform) Apply(states []string) []string {
	out := make([]string, 0, len(states))
	switch t {
	case Exposure:
		for i, s := range states {
			if i == 0 || s != states[i-1] {
				out = append(out, s)
			}
		}
	case First:
		seen := make(map[string]bool, len(states))
		for _, s := range states {
			if !seen[s] {
				seen[s] = true
				out = append(out, s)
			}
		}
	default:
		out = append(out, states...)
	}
	return out
}

// Prepare pools every state taken by fewer than minJourneys journeys into
// Other, applies t, and merges the paths that become equal. Paths without
// states carry no channel information and are dropped. It returns the
// prepared paths (sorted by their states, so results do not depend on
// input order) and, for every input state, the state it became.
func Prepare(paths []Path, t Transform, minJourneys int64) ([]Path, map[string]string) {
	reach := map[string]int64{}
	for _, p := range paths {
		seen := map[string]bool{}
		for _, s := range p.States {
			if !seen[s] {
				seen[s] = true
				reach[s] += p.Journeys
			}
		}
	}
	pooled := make(map[string]string, len(reach))
	for s, n := range reach {
		if n < minJourneys {
			pooled[s] = Other
		} else {
			pooled[s] = s
		}
	}
	merged := map[string]*Path{}
	for _, p := range paths {
		if len(p.States) == 0 {
			continue
		}
		states := make([]string, len(p.States))
		for i, s := range p.States {
			states[i] = pooled[s]
		}
		states = t.Apply(states)
		key := strings.Join(states, "\x00")
		if m, ok := merged[key]; ok {
			m.Journeys += p.Journeys
			m.Conversions += p.Conversions
			continue
		}
		merged[key] = &Path{States: states, Journeys: p.Journeys, Conversions: p.Conversions}
	}
	keys := make([]string, 0, len(merged))
	for k := range merged {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]Path, len(keys))
	for i, k := range keys {
		out[i] = *merged[k]
	}
	return out, pooled
}
