package attribution

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
)

// MaxOrder is the highest Markov order RemovalEffects accepts. Each order
// multiplies the states a property can produce by its channel count.
const MaxOrder = 3

// Effect is one channel's removal effect: the share of conversions lost
// when every state holding the channel leads to (null) instead.
type Effect struct {
	Channel string
	// ConversionProbability is P(conversion) from (start) in the observed
	// chain, RemovedProbability the same with the channel removed.
	ConversionProbability float64
	RemovedProbability    float64
	// RemovalEffect is 1 − RemovedProbability/ConversionProbability, or 0
	// when nothing converts.
	RemovalEffect float64
}

// RemovalEffects builds the Markov chain of the given order (1 to
// MaxOrder) over paths and returns every channel's removal effect, sorted
// by channel.
//
// A state of an order-k chain is the last k channels of the journey so far
// (fewer at its start): (start) -> (A) -> (A, B) -> (A, B, C) -> (B, C, D)
// ... -> (conversion) or (null). Removing a channel removes every state
// that holds it. Conversion probabilities are absorption probabilities,
// found by solving (I − Q) x = r exactly with sparse Gaussian elimination
// (see removals): no simulation and no iteration tolerance.
func RemovalEffects(paths []Path, order int) ([]Effect, error) {
	if order < 1 || order > MaxOrder {
		return nil, fmt.Errorf("markov order %d: want 1 to %d", order, MaxOrder)
	}
	c := newChain(paths, order)
	if len(c.channels) == 0 {
		return nil, nil
	}
	base, removed, err := c.removals()
	if err != nil {
		return nil, err
	}
	out := make([]Effect, len(c.channels))
	for ch, name := range c.channels {
		e := Effect{Channel: name, ConversionProbability: base, RemovedProbability: removed[ch]}
		if base > 0 {
			e.RemovalEffect = 1 - removed[ch]/base
		}
		out[ch] = e
	}
	return out, nil
}

// chain is an absorbing Markov chain over transient states 0..n-1.
type chain struct {
	channels      []string // sorted
	states        []string // tuple keys, sorted
	stateChannels [][]int  // the channels a state holds
	start         []entry  // P((start) -> state), by state
	q             [][]entry
	r             []float64 // P(state -> (conversion))
	order         []int     // elimination order
}

// entry is one non-zero of a sparse row.
type entry struct {
	col int
	v   float64
}

func newChain(paths []Path, order int) *chain {
	type edge struct{ from, to string }
	counts := map[edge]int64{}
	outTotal := map[string]int64{}
	startCounts := map[string]int64{}
	var startTotal int64
	channelSet := map[string]bool{}
	stateSet := map[string][]string{}
	for _, p := range paths {
		if len(p.States) == 0 || p.Journeys <= 0 {
			continue
		}
		prev := ""
		for i, s := range p.States {
			channelSet[s] = true
			tuple := p.States[max(0, i-order+1) : i+1]
			key := strings.Join(tuple, "\x00")
			stateSet[key] = tuple
			if i == 0 {
				startCounts[key] += p.Journeys
				startTotal += p.Journeys
			} else {
				counts[edge{prev, key}] += p.Journeys
				outTotal[prev] += p.Journeys
			}
			prev = key
		}
		counts[edge{prev, "\x00conv"}] += p.Conversions
		counts[edge{prev, "\x00null"}] += p.Journeys - p.Conversions
		outTotal[prev] += p.Journeys
	}
	c := &chain{}
	for ch := range channelSet {
		c.channels = append(c.channels, ch)
	}
	sort.Strings(c.channels)
	chIdx := make(map[string]int, len(c.channels))
	for i, ch := range c.channels {
		chIdx[ch] = i
	}
	for k := range stateSet {
		c.states = append(c.states, k)
	}
	sort.Strings(c.states)
	idx := make(map[string]int, len(c.states))
	for i, k := range c.states {
		idx[k] = i
		var chans []int
		for _, s := range stateSet[k] {
			chans = append(chans, chIdx[s])
		}
		c.stateChannels = append(c.stateChannels, chans)
	}
	n := len(c.states)
	c.q = make([][]entry, n)
	c.r = make([]float64, n)
	for e, cnt := range counts {
		if cnt == 0 {
			continue
		}
		i := idx[e.from]
		p := float64(cnt) / float64(outTotal[e.from])
		switch e.to {
		case "\x00conv":
			c.r[i] = p
		case "\x00null":
		default:
			c.q[i] = append(c.q[i], entry{idx[e.to], p})
		}
	}
	for i := range c.q {
		sort.Slice(c.q[i], func(a, b int) bool { return c.q[i][a].col < c.q[i][b].col })
	}
	for k, cnt := range startCounts {
		c.start = append(c.start, entry{idx[k], float64(cnt) / float64(startTotal)})
	}
	sort.Slice(c.start, func(a, b int) bool { return c.start[a].col < c.start[b].col })

	// Eliminate the states with few neighbours first (Markowitz counts):
	// that keeps the fill-in, and so the work, small on sparse chains.
	inDeg := make([]int, n)
	for i := range c.q {
		for _, e := range c.q[i] {
			if e.col != i {
				inDeg[e.col]++
			}
		}
	}
	cost := make([]int, n)
	c.order = make([]int, n)
	for i := range c.q {
		c.order[i] = i
		cost[i] = len(c.q[i]) * inDeg[i]
	}
	sort.SliceStable(c.order, func(a, b int) bool { return cost[c.order[a]] < cost[c.order[b]] })
	return c
}

var errSingular = errors.New("a state of the chain never reaches (conversion) or (null)")

// lu is I − Q factorised by sparse Gaussian elimination in the chain's
// elimination order. I − Q of an absorbing chain is diagonally dominant,
// so elimination needs no pivoting and is stable in any order. Rows are
// sorted sparse vectors updated in a fixed order, so results are the same
// bit for bit on every run.
type lu struct {
	order []int
	u     [][]entry // row k once eliminated: the diagonal and later columns
	l     [][]entry // for pivot k, the rows it updated and their factors
}

func (c *chain) factor() (*lu, error) {
	n := len(c.states)
	rows := make([][]entry, n)
	cols := make([]map[int]struct{}, n) // rows holding a non-zero in a column
	for i := range cols {
		cols[i] = map[int]struct{}{}
	}
	for i := range n {
		row := make([]entry, 0, len(c.q[i])+1)
		diag := false
		for _, e := range c.q[i] {
			if e.col > i && !diag {
				row = append(row, entry{i, 1})
				diag = true
			}
			if e.col == i {
				row = append(row, entry{i, 1 - e.v})
				diag = true
				continue
			}
			row = append(row, entry{e.col, -e.v})
		}
		if !diag {
			row = append(row, entry{i, 1})
		}
		rows[i] = row
		for _, e := range row {
			cols[e.col][i] = struct{}{}
		}
	}
	f := &lu{order: c.order, u: make([][]entry, n), l: make([][]entry, n)}
	done := make([]bool, n)
	for _, k := range c.order {
		rk := rows[k]
		piv := lookup(rk, k)
		if !(piv > 0) {
			return nil, errSingular
		}
		var targets []int
		for i := range cols[k] {
			if i != k && !done[i] {
				targets = append(targets, i)
			}
		}
		sort.Ints(targets)
		for _, i := range targets {
			m := lookup(rows[i], k) / piv
			if m == 0 {
				continue
			}
			rows[i] = axpy(rows[i], rk, k, m, func(col int) { cols[col][i] = struct{}{} })
			f.l[k] = append(f.l[k], entry{i, m})
		}
		f.u[k] = rk
		cols[k] = nil
		done[k] = true
	}
	return f, nil
}

// solve returns y with (I − Q) y = b; b is overwritten.
func (f *lu) solve(b []float64) []float64 {
	for _, k := range f.order {
		if b[k] == 0 {
			continue
		}
		for _, e := range f.l[k] {
			b[e.col] -= e.v * b[k]
		}
	}
	y := make([]float64, len(b))
	for j := len(f.order) - 1; j >= 0; j-- {
		k := f.order[j]
		s := b[k]
		var piv float64
		for _, e := range f.u[k] {
			if e.col == k {
				piv = e.v
				continue
			}
			s -= e.v * y[e.col]
		}
		y[k] = s / piv
	}
	return y
}

// removals returns P(conversion) from (start), then the same with each
// channel removed. One factorisation serves every channel: with G = (I −
// Q)⁻¹, x the absorption probabilities and h = startᵀG the expected visits
// from (start), removing the state set S leaves
//
//	P' = P − h_S · G_SS⁻¹ · x_S
//
// (a journey converts either without ever entering S, or through its first
// state in S; the Woodbury identity for the rows of S set to the identity).
// For order 1, S is one state and this is P − h_s·x_s/G_ss.
func (c *chain) removals() (float64, []float64, error) {
	f, err := c.factor()
	if err != nil {
		return 0, nil, err
	}
	n := len(c.states)
	x := f.solve(append([]float64(nil), c.r...))
	var p float64
	for _, e := range c.start {
		p += e.v * x[e.col]
	}
	// The states of each channel and each state's place in them.
	members := make([][]int, len(c.channels))
	for s, chans := range c.stateChannels {
		for i, ch := range chans {
			if !slices.Contains(chans[:i], ch) {
				members[ch] = append(members[ch], s)
			}
		}
	}
	blocks := make([][][]float64, len(c.channels)) // G_SS per channel
	for ch, m := range members {
		blocks[ch] = make([][]float64, len(m))
		for i := range m {
			blocks[ch][i] = make([]float64, len(m))
		}
	}
	h := make([]float64, n)
	e := make([]float64, n)
	for t := range n {
		clear(e)
		e[t] = 1
		g := f.solve(e)
		for _, s := range c.start {
			h[t] += s.v * g[s.col]
		}
		for i, ch := range c.stateChannels[t] {
			if slices.Contains(c.stateChannels[t][:i], ch) {
				continue
			}
			m := members[ch]
			col, _ := slices.BinarySearch(m, t)
			for row, u := range m {
				blocks[ch][row][col] = g[u]
			}
		}
	}
	out := make([]float64, len(c.channels))
	for ch, m := range members {
		hs := make([]float64, len(m))
		xs := make([]float64, len(m))
		for i, s := range m {
			hs[i], xs[i] = h[s], x[s]
		}
		w, err := denseSolve(blocks[ch], xs)
		if err != nil {
			return 0, nil, fmt.Errorf("removing %s: %w", c.channels[ch], err)
		}
		var lost float64
		for i := range w {
			lost += hs[i] * w[i]
		}
		// P − lost is never below 0 in exact arithmetic.
		out[ch] = max(p-lost, 0)
	}
	return p, out, nil
}

// denseSolve solves a x = b by Gaussian elimination with partial pivoting;
// a and b are overwritten.
func denseSolve(a [][]float64, b []float64) ([]float64, error) {
	n := len(b)
	for col := range n {
		piv := col
		for r := col + 1; r < n; r++ {
			if math.Abs(a[r][col]) > math.Abs(a[piv][col]) {
				piv = r
			}
		}
		if a[piv][col] == 0 {
			return nil, errSingular
		}
		a[col], a[piv] = a[piv], a[col]
		b[col], b[piv] = b[piv], b[col]
		for r := col + 1; r < n; r++ {
			m := a[r][col] / a[col][col]
			if m == 0 {
				continue
			}
			for k := col; k < n; k++ {
				a[r][k] -= m * a[col][k]
			}
			b[r] -= m * b[col]
		}
	}
	x := make([]float64, n)
	for r := n - 1; r >= 0; r-- {
		s := b[r]
		for k := r + 1; k < n; k++ {
			s -= a[r][k] * x[k]
		}
		x[r] = s / a[r][r]
	}
	return x, nil
}

func lookup(row []entry, col int) float64 {
	i := sort.Search(len(row), func(i int) bool { return row[i].col >= col })
	if i < len(row) && row[i].col == col {
		return row[i].v
	}
	return 0
}

// axpy returns row − f·pivot with column k dropped (eliminated), calling
// fill for every column new to row.
func axpy(row, pivot []entry, k int, f float64, fill func(col int)) []entry {
	out := make([]entry, 0, len(row)+len(pivot))
	i, j := 0, 0
	for i < len(row) || j < len(pivot) {
		switch {
		case j == len(pivot) || i < len(row) && row[i].col < pivot[j].col:
			if row[i].col != k {
				out = append(out, row[i])
			}
			i++
		case i == len(row) || pivot[j].col < row[i].col:
			if pivot[j].col != k {
				out = append(out, entry{pivot[j].col, -f * pivot[j].v})
				fill(pivot[j].col)
			}
			j++
		default:
			if row[i].col != k {
				out = append(out, entry{row[i].col, row[i].v - f*pivot[j].v})
			}
			i++
			j++
		}
	}
	return out
}
