package report

import (
	"fmt"
	"math"
	"strings"
)

// The report's number formats, one place for the page, the headline and
// the terminal: counts as integers, money with its currency (cents below
// 100), percentages with one decimal.

func formatMoney(v float64, currency string) string {
	digits := 0
	if math.Abs(v) < 100 {
		digits = 2
	}
	return groupDigits(v, digits) + " " + currency
}

// formatUnitCost prints a price per lead or per deal, always with cents.
func formatUnitCost(v float64, currency string) string { return groupDigits(v, 2) + " " + currency }

func formatCount(v float64) string { return groupDigits(v, 0) }

func formatPct(v float64) string { return groupDigits(v*100, 1) + "%" }

// groupDigits prints v with the given decimals and a comma between
// thousands.
func groupDigits(v float64, decimals int) string {
	s := fmt.Sprintf("%.*f", decimals, math.Abs(v))
	intPart, frac, _ := strings.Cut(s, ".")
	var b strings.Builder
	if v < 0 && strings.Trim(s, "0.") != "" {
		b.WriteByte('-')
	}
	for i, r := range intPart {
		if i > 0 && (len(intPart)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	if frac != "" {
		b.WriteString("." + frac)
	}
	return b.String()
}
