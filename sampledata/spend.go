package sampledata

import (
	"cmp"
	"math"
	"slices"
	"strconv"
	"time"
)

type spendKey struct{ source, medium, campaign, currency string }

// addSpend books the cost of one paid click (or, for display, one
// impression-driven visit) on the session's day.
func (g *generator) addSpend(c *channel, _ time.Time) {
	g.spend[spendKey{c.source, c.medium, c.campaign, c.currency}] += c.cpc * (0.7 + 0.6*g.rng.Float64())
}

// flushSpend writes the day's spend rows, sorted, into the month's file.
func (g *generator) flushSpend(date time.Time) error {
	month := date.Format("200601")
	if g.spendMonth != month {
		if g.spendFile != nil {
			if err := g.closeFile(g.spendFile); err != nil {
				return err
			}
		}
		f, err := g.create("spend/spend_"+month+".csv", false)
		if err != nil {
			return err
		}
		g.spendFile, g.spendMonth, g.spendCSV = f, month, newCSV(f)
		g.spendCSV.row("date", "source", "medium", "campaign", "cost", "currency")
	}
	keys := make([]spendKey, 0, len(g.spend))
	for k := range g.spend {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b spendKey) int {
		return cmp.Or(cmp.Compare(a.source, b.source), cmp.Compare(a.medium, b.medium), cmp.Compare(a.campaign, b.campaign))
	})
	for _, k := range keys {
		g.spendCSV.row(date.Format(time.DateOnly), k.source, k.medium, k.campaign, strconv.FormatFloat(math.Round(g.spend[k]*100)/100, 'f', 2, 64), k.currency)
		g.sum.SpendRows++
	}
	return g.spendCSV.err()
}

// writeFX writes daily rates of EUR and GBP to USD over the data's days
// (amount_in_to = amount_in_from * rate), as a gentle random walk. USD
// amounts need no rate: USD is the sample's reporting currency, and the FX
// loader rejects identity pairs.
func (g *generator) writeFX() error {
	f, err := g.create("fx_rates.csv", false)
	if err != nil {
		return err
	}
	w := newCSV(f)
	w.row("date", "from_currency", "to_currency", "rate")
	eur, gbp := 1.08, 1.27
	for d := 0; d < g.opts.Days; d++ {
		date := g.start.AddDate(0, 0, d).Format(time.DateOnly)
		eur *= 1 + (g.rng.Float64()-0.5)*0.006
		gbp *= 1 + (g.rng.Float64()-0.5)*0.006
		w.row(date, "EUR", "USD", strconv.FormatFloat(math.Round(eur*1e6)/1e6, 'f', 6, 64))
		w.row(date, "GBP", "USD", strconv.FormatFloat(math.Round(gbp*1e6)/1e6, 'f', 6, 64))
	}
	if err := w.err(); err != nil {
		return err
	}
	return g.closeFile(f)
}
