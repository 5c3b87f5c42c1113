package report

import (
	"fmt"
	"io"
	"sort"
	"strings"
)

// The headline's rules live here and only here: the page, the JSON and
// the end of `sam run` print what Headline returns. Each rule states
// something only when the numbers support it; on data without a story the
// headline is empty.
const (
	// A paid channel needs this many (credited) leads to be ranked: with
	// fewer, its cost per lead is noise.
	minRankedLeads = 5
	// Cost per lead and return disagree only when the cheapest channel's
	// ROI trails the best by at least this much (10 percentage points).
	minROIGap = 0.10
	// Spam is material in a channel from this share of its leads and this
	// many spam leads.
	minSpamRate  = 0.20
	minSpamLeads = 5
)

// Headline is the report's story in sentences, computed from the channel
// totals of one attribution model: whether the cheapest leads are also the
// best return, whether the dearest leads pay, and where spam is material.
func Headline(d *Data, model string) []string {
	rows := d.ForModel(model)
	var paid []ChannelRow
	for _, r := range rows {
		if r.Spend > 0 && r.Leads >= minRankedLeads {
			paid = append(paid, r)
		}
	}
	unit := func(v float64) string { return formatUnitCost(v, d.ReportingCurrency) }
	var out []string
	if len(paid) >= 2 {
		out = append(out, rankingSentences(paid, unit, func(v float64) string { return formatMoney(v, d.ReportingCurrency) })...)
	}
	out = append(out, noLeadSentences(rows, func(v float64) string { return formatMoney(v, d.ReportingCurrency) })...)
	out = append(out, spamSentences(rows, unit)...)
	return out
}

func roi(r ChannelRow) float64 { v, _ := r.ROI(); return v }

// cpl and spamRate are the ranked channels' figures: they have leads.
func cpl(r ChannelRow) float64      { v, _ := r.CostPerLead(); return v }
func spamRate(r ChannelRow) float64 { v, _ := r.SpamRate(); return v }

// noLeadSentences name the paid channels that spent and brought no lead.
func noLeadSentences(rows []ChannelRow, money func(float64) string) []string {
	var out []string
	for _, r := range rows {
		if r.Spend > 0 && r.Leads == 0 {
			out = append(out, fmt.Sprintf("%s spent %s and brought no lead.", r.Channel, money(r.Spend)))
		}
	}
	return out
}

func rankingSentences(paid []ChannelRow, unit, money func(float64) string) []string {
	byCPL := append([]ChannelRow(nil), paid...)
	sort.SliceStable(byCPL, func(i, j int) bool { return cpl(byCPL[i]) < cpl(byCPL[j]) })
	byROI := append([]ChannelRow(nil), paid...)
	sort.SliceStable(byROI, func(i, j int) bool { return roi(byROI[i]) > roi(byROI[j]) })
	cheap, dear := byCPL[0], byCPL[len(byCPL)-1]
	best := byROI[0]

	inverted := cheap.Channel != best.Channel && roi(best)-roi(cheap) >= minROIGap
	var out []string
	if inverted {
		s := fmt.Sprintf("By cost per lead, %s looks best (%s against %s for %s).",
			cheap.Channel, unit(cpl(cheap)), unit(cpl(best)), best.Channel)
		rank := 0
		for i, r := range byROI {
			if r.Channel == cheap.Channel {
				rank = i + 1
			}
		}
		if rank == len(byROI) {
			s += fmt.Sprintf(" By return it is the worst: %s ROI against %s.", formatPct(roi(cheap)), formatPct(roi(best)))
		} else {
			s += fmt.Sprintf(" By return it ranks %d of %d: %s ROI against %s.", rank, len(byROI), formatPct(roi(cheap)), formatPct(roi(best)))
		}
		out = append(out, s)
	}
	if s, ok := costPerWonSentence(cheap, paid, unit, money); ok {
		out = append(out, s)
	}
	if inverted && dear.Channel == best.Channel && roi(best) > 0 {
		out = append(out, fmt.Sprintf("%s has the dearest leads and the best return: %s won on %s spent.",
			best.Channel, money(best.Revenue), money(best.Spend)))
	}
	return out
}

// costPerWonSentence says when the channel with the cheapest leads is not
// the cheapest per won deal.
func costPerWonSentence(cheap ChannelRow, paid []ChannelRow, unit, money func(float64) string) (string, bool) {
	var winner ChannelRow
	found := false
	for _, r := range paid {
		c, ok := r.CostPerWon()
		if !ok {
			continue
		}
		if w, _ := winner.CostPerWon(); !found || c < w {
			winner, found = r, true
		}
	}
	if !found || winner.Channel == cheap.Channel {
		return "", false
	}
	w, _ := winner.CostPerWon()
	if c, ok := cheap.CostPerWon(); ok {
		return fmt.Sprintf("Per won deal %s costs %s against %s for %s.", cheap.Channel, unit(c), unit(w), winner.Channel), true
	}
	return fmt.Sprintf("%s won no deal for %s spent; %s paid %s per won deal.", cheap.Channel, money(cheap.Spend), winner.Channel, unit(w)), true
}

func spamSentences(rows []ChannelRow, unit func(float64) string) []string {
	var spammy []ChannelRow
	for _, r := range rows {
		if spamRate(r) >= minSpamRate && r.SpamLeads >= minSpamLeads {
			spammy = append(spammy, r)
		}
	}
	sort.SliceStable(spammy, func(i, j int) bool { return spamRate(spammy[i]) > spamRate(spammy[j]) })
	var out []string
	for _, r := range spammy {
		s := fmt.Sprintf("%s of %s %s leads (%s) are spam or bots", formatCount(r.SpamLeads), formatCount(r.Leads), r.Channel, formatPct(spamRate(r)))
		if genuine := r.Leads - r.SpamLeads; r.Spend > 0 && genuine > 0 {
			s += fmt.Sprintf("; per genuine lead it costs %s, not %s", unit(r.Spend/genuine), unit(cpl(r)))
		}
		out = append(out, s+".")
	}
	return out
}

// WriteHeadline prints the headline for a terminal, one sentence a line,
// under a title; it prints nothing when there is nothing to state.
func WriteHeadline(w io.Writer, d *Data, model string) error {
	lines := Headline(d, model)
	if len(lines) == 0 {
		return nil
	}
	_, err := fmt.Fprintf(w, "\nwhat it means — attribution model %s\n  %s\n", model, strings.Join(lines, "\n  "))
	return err
}
