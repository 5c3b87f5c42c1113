package attribution

import (
	"errors"
	"fmt"
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
// found by solving (I − Q) x = r exactly with sparse Gaussian elimination:
// no simulation and no iteration tolerance.
func RemovalEffects(paths []Path, order int) ([]Effect, error) {
	if order < 1 || order > MaxOrder {
		return nil, fmt.Errorf("markov order %d: want 1 to %d", order, MaxOrder)
	}
	c := newChain(paths, order)
	if len(c.channels) == 0 {
		return nil, nil
	}
	none := make([]bool, len(c.states))
	base, err := c.conversion(none)
	if err != nil {
		return nil, err
	}
	out := make([]Effect, len(c.channels))
	removed := make([]bool, len(c.states))
	for ch, name := range c.channels {
		for i, chans := range c.stateChannels {
			removed[i] = false
			for _, x := range chans {
				if x == ch {
					removed[i] = true
				}
			}
		}
		p, err := c.conversion(removed)
		if err != nil {
			return nil, fmt.Errorf("removing %s: %w", name, err)
		}
		e := Effect{Channel: name, ConversionProbability: base, RemovedProbability: p}
		if base > 0 {
			e.RemovalEffect = 1 - p/base
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
	const (
		conv = -1
		null = -2
	)
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

// conversion returns P(conversion) from (start) with the removed states
// leading to (null): it solves (I − Q) x = r over the remaining states.
//
// I − Q of an absorbing chain is diagonally dominant, so elimination needs
// no pivoting and is stable in any order. Rows are sorted sparse vectors,
// updated in a fixed order, so the result is the same bit for bit on every
// run.
func (c *chain) conversion(removed []bool) (float64, error) {
	n := len(c.states)
	rows := make([][]entry, n)
	b := make([]float64, n)
	cols := make([]map[int]struct{}, n) // rows holding a non-zero in a column
	for i := range cols {
		cols[i] = map[int]struct{}{}
	}
	for i := range n {
		if removed[i] {
			continue
		}
		row := make([]entry, 0, len(c.q[i])+1)
		diag := false
		for _, e := range c.q[i] {
			if removed[e.col] {
				continue
			}
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
		b[i] = c.r[i]
		for _, e := range row {
			cols[e.col][i] = struct{}{}
		}
	}
	done := make([]bool, n)
	var order []int
	for _, k := range c.order {
		if removed[k] {
			continue
		}
		order = append(order, k)
		rk := rows[k]
		piv := lookup(rk, k)
		if !(piv > 0) {
			return 0, errSingular
		}
		for i := range cols[k] {
			if i == k || done[i] || removed[i] {
				continue
			}
			f := lookup(rows[i], k) / piv
			if f == 0 {
				continue
			}
			rows[i] = axpy(rows[i], rk, k, f, func(col int) { cols[col][i] = struct{}{} })
			b[i] -= f * b[k]
		}
		done[k] = true
	}
	x := make([]float64, n)
	for j := len(order) - 1; j >= 0; j-- {
		k := order[j]
		s := b[k]
		var piv float64
		for _, e := range rows[k] {
			if e.col == k {
				piv = e.v
				continue
			}
			s -= e.v * x[e.col]
		}
		x[k] = s / piv
	}
	var p float64
	for _, e := range c.start {
		if !removed[e.col] {
			p += e.v * x[e.col]
		}
	}
	return p, nil
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
