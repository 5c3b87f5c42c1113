package record

import (
	"fmt"
	"math/big"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/sam-attribution/sam/internal/iso4217"
)

// timeLayouts are the timestamp spellings CRM APIs and exports use:
// RFC 3339 (HubSpot v3, export files), Salesforce's offset without a colon,
// and bare dates (Salesforce CloseDate, some HubSpot date properties).
var timeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05.000-0700",
	"2006-01-02T15:04:05-0700",
	"2006-01-02T15:04:05Z0700",
	"2006-01-02 15:04:05Z07:00",
	"2006-01-02",
}

// ParseTime parses a CRM timestamp into UTC. An empty string is the zero
// time (NULL). A bare integer is read by its shape, never guessed: eight
// digits that form a date are YYYYMMDD (date-only exports), ten digits are
// epoch seconds and thirteen epoch milliseconds (HubSpot's older APIs and
// date properties); both epochs then fall between 2001 and 2286. Any other
// integer is an error, so seconds are never read as milliseconds.
func ParseTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	for _, l := range timeLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t.UTC(), nil
		}
	}
	if digits(s) {
		n, err := strconv.ParseInt(s, 10, 64)
		switch {
		case len(s) == 8:
			if t, err := time.Parse("20060102", s); err == nil {
				return t, nil
			}
			return time.Time{}, fmt.Errorf("integer timestamp %q has eight digits but is not a YYYYMMDD date", s)
		case err == nil && len(s) == 10:
			return time.Unix(n, 0).UTC(), nil
		case err == nil && len(s) == 13:
			return time.UnixMilli(n).UTC(), nil
		}
		return time.Time{}, fmt.Errorf("integer timestamp %q is neither YYYYMMDD (8 digits), epoch seconds (10) nor epoch milliseconds (13)", s)
	}
	for _, l := range zonelessLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return time.Time{}, fmt.Errorf("timestamp %q has no time zone, and SAM does not guess one: write %s for UTC, or add its offset", s, t.Format("2006-01-02T15:04:05Z"))
		}
	}
	return time.Time{}, fmt.Errorf("unparseable timestamp %q", s)
}

// zonelessLayouts are date-times written without a zone, as spreadsheets
// write them: recognised only to say what is missing.
var zonelessLayouts = []string{"2006-01-02 15:04:05", "2006-01-02T15:04:05", "2006-01-02 15:04", "2006-01-02T15:04"}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

var amountRE = regexp.MustCompile(`^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$`)

// maxAmountDigits is how many digits an amount may have before the
// decimal point: NUMERIC is DECIMAL(38, 9) in DuckDB and BigQuery alike
// (38 digits of precision, 9 of them after the point), so a larger amount
// would fail the whole load instead of one row.
const maxAmountDigits = 29

// ParseAmount validates a money amount and returns it as decimal text with
// no exponent. An empty string is NULL. An amount NUMERIC cannot hold
// (1e30) is an error.
func ParseAmount(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", nil
	}
	if !amountRE.MatchString(s) {
		return "", fmt.Errorf("non-numeric amount %q", s)
	}
	out := strings.TrimPrefix(s, "+")
	if strings.ContainsAny(s, "eE") {
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return "", fmt.Errorf("non-numeric amount %q", s)
		}
		out = strconv.FormatFloat(f, 'f', -1, 64)
	}
	whole, _, _ := strings.Cut(strings.TrimLeft(out, "+-"), ".")
	if len(strings.TrimLeft(whole, "0")) > maxAmountDigits || roundsOutOfRange(out) {
		return "", fmt.Errorf("amount %q is out of range (at most %d digits before the decimal point)", s, maxAmountDigits)
	}
	return out, nil
}

// roundsOutOfRange reports whether a plain decimal of at most
// maxAmountDigits whole digits rounds, at NUMERIC's 9 fractional digits,
// to 10^maxAmountDigits: 29 nines and a fraction that rounds up pass the
// digit count and fail the load's cast.
func roundsOutOfRange(plain string) bool {
	r, ok := new(big.Rat).SetString(plain)
	if !ok {
		return false
	}
	scaled := new(big.Rat).Mul(new(big.Rat).Abs(r), new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(9), nil)))
	// Half away from zero, as the cast rounds.
	q := new(big.Int).Quo(scaled.Num(), scaled.Denom())
	rem := new(big.Rat).Sub(scaled, new(big.Rat).SetInt(q))
	if rem.Cmp(big.NewRat(1, 2)) >= 0 {
		q.Add(q, big.NewInt(1))
	}
	limit := new(big.Int).Exp(big.NewInt(10), big.NewInt(maxAmountDigits+9), nil)
	return q.Cmp(limit) >= 0
}

// ParseCurrency validates an ISO 4217 code (case-insensitive; returned in
// capitals). An empty string is NULL.
func ParseCurrency(s string) (string, error) {
	s = strings.ToUpper(strings.TrimSpace(s))
	if s == "" {
		return "", nil
	}
	if !ValidCurrency(s) {
		return "", fmt.Errorf("unknown currency code %q", s)
	}
	return s, nil
}

// ParseBool accepts true/false (any case), 1/0 and empty (false).
func ParseBool(s string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "false", "0", "f", "no":
		return false, nil
	case "true", "1", "t", "yes":
		return true, nil
	}
	return false, fmt.Errorf("not a boolean: %q", s)
}

// CheckText reports a text value the warehouse cannot keep as it is: one
// holding a NUL byte, where DuckDB cuts text, so the value would load
// shortened without a word. name is the field, as the source names it.
func CheckText(name, s string) error {
	if strings.IndexByte(s, 0) < 0 {
		return nil
	}
	return fmt.Errorf("field %s holds a NUL byte, where the warehouse would cut the text", name)
}

// Fields collects the first problem while a source maps a record field by
// field, so mapping code reads straight through and checks once.
type Fields struct{ Err error }

// Time parses a timestamp field.
func (f *Fields) Time(name, s string) time.Time {
	t, err := ParseTime(s)
	if err != nil && f.Err == nil {
		f.Err = fmt.Errorf("%s: %w", name, err)
	}
	return t
}

// Amount validates an amount field.
func (f *Fields) Amount(name, s string) string {
	a, err := ParseAmount(s)
	if err != nil && f.Err == nil {
		f.Err = fmt.Errorf("%s: %w", name, err)
	}
	return a
}

// Currency validates a currency field.
func (f *Fields) Currency(name, s string) string {
	c, err := ParseCurrency(s)
	if err != nil && f.Err == nil {
		f.Err = fmt.Errorf("%s: %w", name, err)
	}
	return c
}

// Bool parses a boolean field.
func (f *Fields) Bool(name, s string) bool {
	b, err := ParseBool(s)
	if err != nil && f.Err == nil {
		f.Err = fmt.Errorf("%s: %w", name, err)
	}
	return b
}

// Consent parses a consent field: granted or denied (yes/no, true/false
// and 1/0 are read the same way), empty when unknown. Anything else is an
// error: consent is never guessed.
func (f *Fields) Consent(name, s string) string {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "":
		return ""
	case "granted", "yes", "true", "1":
		return "granted"
	case "denied", "no", "false", "0":
		return "denied"
	}
	if f.Err == nil {
		f.Err = fmt.Errorf("%s: %q is not granted or denied", name, s)
	}
	return ""
}

// Text checks a text field the record keeps or reads (CheckText) and
// returns it as it is.
func (f *Fields) Text(name, s string) string {
	if f.Err == nil {
		f.Err = CheckText(name, s)
	}
	return s
}

// Require records a missing required field, and checks it as Text.
func (f *Fields) Require(name, s string) string {
	s = strings.TrimSpace(s)
	if s == "" && f.Err == nil {
		f.Err = fmt.Errorf("missing %s", name)
	}
	return f.Text(name, s)
}

// clientIDRE is the hidden-field GA client id SAM can join to GA4: GA's
// bare x.y form, or the _ga cookie value GA1.n.x.y. Staging applies the
// same pattern (stg_crm__leads).
var clientIDRE = regexp.MustCompile(`^(?:GA[0-9]+[.][0-9]+[.])?[0-9]+[.][0-9]+$`)

// ClientIDProblem says why a non-empty GA client id cannot be joined to
// GA4 sessions, or "" when it can (or is empty). Such a lead still loads; it
// shows as unattributed with this reason.
func ClientIDProblem(s string) string {
	s = strings.TrimSpace(s)
	if s == "" || clientIDRE.MatchString(s) {
		return ""
	}
	return "ga_client_id is not x.y or GA1.n.x.y"
}

// Stages a lead's lifecycle_stage may take.
var Stages = []string{"lead", "mql", "sql", "opportunity", "customer", "lost", "disqualified"}

// ValidStage reports whether s is one of Stages.
func ValidStage(s string) bool {
	for _, v := range Stages {
		if s == v {
			return true
		}
	}
	return false
}

// ValidCurrency reports whether code is an active ISO 4217 code in
// capitals, by the list every loader shares: funds and precious metals
// price no deal, and no rates file converts them.
func ValidCurrency(code string) bool { return iso4217.Active(code) }
