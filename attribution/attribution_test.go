package attribution

import (
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
)

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-12 }

func path(s string, journeys, conversions int64) Path {
	var states []string
	if s != "" {
		states = strings.Split(s, " ")
	}
	return Path{States: states, Journeys: journeys, Conversions: conversions}
}

func TestTransforms(t *testing.T) {
	// fractribution's README example.
	in := strings.Split("D A B B C D C C", " ")
	want := map[Transform]string{Unique: "D A B B C D C C", Exposure: "D A B C D C", First: "D A B C"}
	for tr, w := range want {
		if got := strings.Join(tr.Apply(in), " "); got != w {
			t.Errorf("%s = %s, want %s", tr, got, w)
		}
	}
	if _, err := ParseTransform("frequency"); err == nil {
		t.Error("ParseTransform accepted frequency")
	}
}

func TestPreparePoolsRareStates(t *testing.T) {
	paths := []Path{path("A B", 3, 1), path("A C", 1, 0), path("A D", 1, 1), path("A A", 2, 0), path("", 4, 4)}
	got, pooled := Prepare(paths, Exposure, 2)
	want := []Path{path("A", 2, 0), path("A B", 3, 1), path("A Other", 2, 1)}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("paths = %v, want %v", got, want)
	}
	if pooled["C"] != Other || pooled["D"] != Other || pooled["B"] != "B" || pooled["A"] != "A" {
		t.Errorf("pooled = %v", pooled)
	}
}

// The journeys of tests/attribution's TestMarkovByHand, stage lead, with
// the removal effects worked out there: P = 2/5, Search 1/2, Social 1.
func TestRemovalEffectsByHand(t *testing.T) {
	paths := []Path{
		path("Search Social", 1, 1), path("Social", 1, 1), path("Search", 1, 0),
		path("Search Social", 1, 0), path("Social Social Search", 1, 0),
	}
	got, err := RemovalEffects(paths, 1)
	if err != nil {
		t.Fatal(err)
	}
	want := []Effect{{"Search", 0.4, 0.2, 0.5}, {"Social", 0.4, 0, 1}}
	if len(got) != 2 {
		t.Fatalf("effects = %v", got)
	}
	for i, w := range want {
		g := got[i]
		if g.Channel != w.Channel || !near(g.ConversionProbability, w.ConversionProbability) ||
			!near(g.RemovedProbability, w.RemovedProbability) || !near(g.RemovalEffect, w.RemovalEffect) {
			t.Errorf("effect %d = %+v, want %+v", i, g, w)
		}
	}
}

// bruteForce builds the order-k chain journey by journey into a dense
// matrix and solves it with Gauss-Jordan elimination with partial pivoting:
// an independent check of RemovalEffects.
func bruteForce(paths []Path, order int, removed string) float64 {
	idx := map[string]int{}
	var names []string
	stateOf := func(states []string, i int) int {
		key := fmt.Sprint(states[max(0, i-order+1) : i+1])
		if _, ok := idx[key]; !ok {
			idx[key] = len(names)
			names = append(names, key)
		}
		return idx[key]
	}
	type step struct{ from, to int } // -1 start, -2 conversion, -3 null
	var steps []step
	var weights []float64
	for _, p := range paths {
		prev := -1
		for i := range p.States {
			s := stateOf(p.States, i)
			steps, weights = append(steps, step{prev, s}), append(weights, float64(p.Journeys))
			prev = s
		}
		steps, weights = append(steps, step{prev, -2}), append(weights, float64(p.Conversions))
		steps, weights = append(steps, step{prev, -3}), append(weights, float64(p.Journeys-p.Conversions))
	}
	n := len(names)
	gone := make([]bool, n)
	for i, name := range names {
		gone[i] = removed != "" && strings.Contains(" "+strings.Trim(name, "[]")+" ", " "+removed+" ")
	}
	count := make([][]float64, n+1) // row n is (start)
	for i := range count {
		count[i] = make([]float64, n+2) // col n conversion, n+1 null
	}
	for k, st := range steps {
		from := st.from
		if from == -1 {
			from = n
		}
		to := st.to
		switch {
		case to == -2:
			to = n
		case to == -3 || gone[to]:
			to = n + 1
		}
		count[from][to] += weights[k]
	}
	// a[i] = [I − Q | r] over the states, (start) included as row n.
	a := make([][]float64, n+1)
	for i := range a {
		a[i] = make([]float64, n+2)
		var total float64
		for _, c := range count[i] {
			total += c
		}
		a[i][i] = 1
		for j := 0; j < n; j++ {
			if total > 0 {
				a[i][j] -= count[i][j] / total
			}
		}
		if total > 0 {
			a[i][n+1] = count[i][n] / total
		}
	}
	// the (start) column is all zero: swap it into column n so the system
	// is square over n+1 unknowns.
	m := n + 1
	for i := range a {
		a[i][n] = 0
	}
	a[n][n] = 1
	for col := range m {
		piv := col
		for r := col + 1; r < m; r++ {
			if math.Abs(a[r][col]) > math.Abs(a[piv][col]) {
				piv = r
			}
		}
		a[col], a[piv] = a[piv], a[col]
		for r := range m {
			if r == col || a[r][col] == 0 {
				continue
			}
			f := a[r][col] / a[col][col]
			for c := col; c <= m; c++ {
				a[r][c] -= f * a[col][c]
			}
		}
	}
	return a[n][m] / a[n][n]
}

func fixture() []Path {
	return []Path{
		path("A B C", 5, 2), path("A", 7, 1), path("B", 6, 0), path("B A", 3, 1), path("C B A C", 2, 1),
		path("A A B", 4, 2), path("C", 3, 0), path("B C B C", 2, 1), path("A C", 3, 0), path("C A B B", 1, 1),
	}
}

func TestRemovalEffectsAgainstBruteForce(t *testing.T) {
	paths := fixture()
	for order := 1; order <= 3; order++ {
		got, err := RemovalEffects(paths, order)
		if err != nil {
			t.Fatal(err)
		}
		base := bruteForce(paths, order, "")
		if len(got) != 3 {
			t.Fatalf("order %d: effects %v", order, got)
		}
		for _, e := range got {
			removed := bruteForce(paths, order, e.Channel)
			if math.Abs(e.ConversionProbability-base) > 1e-12 || math.Abs(e.RemovedProbability-removed) > 1e-12 {
				t.Errorf("order %d %s: P = %v removed %v, brute force %v removed %v", order, e.Channel,
					e.ConversionProbability, e.RemovedProbability, base, removed)
			}
		}
	}
	if _, err := RemovalEffects(paths, 4); err == nil {
		t.Error("order 4 accepted")
	}
}

// Higher orders must differ from order 1 on this fixture, or the brute
// force above would not tell them apart.
func TestOrdersDiffer(t *testing.T) {
	o1, _ := RemovalEffects(fixture(), 1)
	o2, _ := RemovalEffects(fixture(), 2)
	if near(o1[0].RemovedProbability, o2[0].RemovedProbability) {
		t.Errorf("order 1 and 2 agree: %v %v", o1, o2)
	}
}

// Hand-derived from the rules Shapley documents (fractribution's).
func TestShapleyByHand(t *testing.T) {
	paths := []Path{
		path("A", 10, 2),    // P 0.2
		path("B", 10, 1),    // P 0.1
		path("A B", 10, 4),  // P 0.4
		path("B A", 5, 0),   // P 0: no credits
		path("A B A", 4, 2), // P 0.5
		path("D", 10, 5),    // P 0.5
		path("D A", 10, 1),  // P 0.1
	}
	got := map[string]map[string]float64{}
	for _, pc := range Shapley(paths) {
		m := map[string]float64{}
		for _, c := range pc.Credits {
			m[c.Channel] = c.Credit
		}
		got[strings.Join(pc.Path.States, " ")] = m
	}
	want := map[string]map[string]float64{
		"A": {"A": 1},
		"B": {"B": 1},
		"D": {"D": 1},
		// A: 0.4 − P(B) = 0.3, B: 0.4 − P(A) = 0.2, normalised.
		"A B": {"A": 0.6, "B": 0.4},
		// touches: 0.5 − P(B A) = 0.5, 0.5 − P(A A) = 0.5, 0.5 − P(A B) = 0.1.
		"A B A": {"A": 6.0 / 11, "B": 5.0 / 11},
		// D: max(0.1 − 0.2, 0) = 0, A: max(0.1 − 0.5, 0) = 0: last touch.
		"D A": {"D": 0, "A": 1},
	}
	if len(got) != len(want) {
		t.Fatalf("credits = %v, want %v", got, want)
	}
	for p, w := range want {
		for ch, c := range w {
			if math.Abs(got[p][ch]-c) > 1e-9 {
				t.Errorf("%s: %s = %v, want %v", p, ch, got[p][ch], c)
			}
		}
	}
}

// campaignPaths draws journeys over n campaigns with a skewed popularity,
// as a property with many small campaigns has.
func campaignPaths(n, journeys int) []Path {
	rng := rand.New(rand.NewPCG(1, 2))
	zipf := rand.NewZipf(rng, 1.1, 1, uint64(n-1))
	var out []Path
	for range journeys {
		k := 1 + rng.IntN(5)
		states := make([]string, k)
		for i := range states {
			states[i] = fmt.Sprintf("campaign_%03d", zipf.Uint64())
		}
		conv := int64(0)
		if rng.IntN(10) == 0 {
			conv = 1
		}
		out = append(out, Path{States: states, Journeys: 1, Conversions: conv})
	}
	return out
}

// The acceptance benchmark: a campaign-grain chain of 500 states, and a
// channel-grain chain of order 3.
func BenchmarkRemovalEffects(b *testing.B) {
	for _, bc := range []struct {
		name             string
		states, journeys int
		order            int
	}{
		{"campaign500/order1", 500, 100_000, 1},
		{"channel25/order2", 25, 100_000, 2},
		{"channel12/order3", 12, 100_000, 3},
	} {
		paths, _ := Prepare(campaignPaths(bc.states, bc.journeys), Unique, 0)
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				effects, err := RemovalEffects(paths, bc.order)
				if err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(float64(len(effects)), "channels")
			}
		})
	}
}
