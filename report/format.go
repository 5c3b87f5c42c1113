package report

import (
	"fmt"
	"math"
	"strconv"
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

// formatCompact is for axis labels: 157k, 1.2M, with the currency if
// given.
func formatCompact(v float64, currency string) string {
	var s string
	switch a := math.Abs(v); {
	case a >= 1e6:
		s = strconv.FormatFloat(v/1e6, 'f', 1, 64) + "M"
	case a >= 1e4:
		s = strconv.FormatFloat(v/1e3, 'f', 0, 64) + "k"
	case a >= 100:
		s = groupDigits(v, 0)
	default:
		s = strconv.FormatFloat(v, 'f', -1, 64)
		if a != math.Trunc(a) {
			s = groupDigits(v, 1)
		}
	}
	if currency != "" {
		s += " " + currency
	}
	return s
}
