package attribution

import "strings"

// PathCredit is one channel's share of a converting path's conversions.
type PathCredit struct {
	Channel string
	// Credit is the channel's share: the credits of one path sum to 1.
	Credit float64
}

// PathCredits is a converting path and how its conversions are shared.
type PathCredits struct {
	Path    Path
	Credits []PathCredit // in the order the channels first appear
}

// Shapley shares each converting path's conversions among its channels as
// fractribution's "shapley" model does (its Fractribution class,
// run_shapley_attribution), over the observed paths as coalitions:
//
//   - P(path) is the path's conversions / journeys; a path nobody took
//     has P = 0.
//   - A path of one touch gives that channel all the credit.
//   - Otherwise touch i earns max(P(path) − P(path without touch i), 0);
//     the touches' earnings are normalised to sum to 1, and when all are
//     0 the last touch gets everything.
//   - A channel's credit is the sum over its touches.
//
// Paths without conversions get no credits. paths should be prepared
// (Prepare), so that equal paths are merged.
func Shapley(paths []Path) []PathCredits {
	prob := make(map[string]float64, len(paths))
	for _, p := range paths {
		if p.Journeys > 0 {
			prob[pathKey(p.States)] = float64(p.Conversions) / float64(p.Journeys)
		}
	}
	var out []PathCredits
	for _, p := range paths {
		if len(p.States) == 0 || p.Conversions == 0 {
			continue
		}
		n := len(p.States)
		contrib := make([]float64, n)
		if n == 1 {
			contrib[0] = 1
		} else {
			pp := prob[pathKey(p.States)]
			var sum float64
			without := make([]string, 0, n-1)
			for i := range p.States {
				without = append(append(without[:0], p.States[:i]...), p.States[i+1:]...)
				contrib[i] = max(pp-prob[pathKey(without)], 0)
				sum += contrib[i]
			}
			if sum == 0 {
				contrib[n-1] = 1
			} else {
				for i := range contrib {
					contrib[i] /= sum
				}
			}
		}
		pc := PathCredits{Path: p}
		pos := map[string]int{}
		for i, ch := range p.States {
			j, ok := pos[ch]
			if !ok {
				j = len(pc.Credits)
				pos[ch] = j
				pc.Credits = append(pc.Credits, PathCredit{Channel: ch})
			}
			pc.Credits[j].Credit += contrib[i]
		}
		out = append(out, pc)
	}
	return out
}

func pathKey(states []string) string { return strings.Join(states, "\x00") }
