package record

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
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
// time (NULL). Integers are epoch milliseconds, as HubSpot's older APIs and
// some date properties send them.
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
	if ms, err := strconv.ParseInt(s, 10, 64); err == nil && ms > 0 {
		return time.UnixMilli(ms).UTC(), nil
	}
	return time.Time{}, fmt.Errorf("unparseable timestamp %q", s)
}

var amountRE = regexp.MustCompile(`^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$`)

// ParseAmount validates a money amount and returns it as decimal text with
// no exponent. An empty string is NULL.
func ParseAmount(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", nil
	}
	if !amountRE.MatchString(s) {
		return "", fmt.Errorf("non-numeric amount %q", s)
	}
	if strings.ContainsAny(s, "eE") {
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return "", fmt.Errorf("non-numeric amount %q", s)
		}
		return strconv.FormatFloat(f, 'f', -1, 64), nil
	}
	return strings.TrimPrefix(s, "+"), nil
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

// Require records a missing required field.
func (f *Fields) Require(name, s string) string {
	s = strings.TrimSpace(s)
	if s == "" && f.Err == nil {
		f.Err = fmt.Errorf("missing %s", name)
	}
	return s
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

// iso4217 lists the active ISO 4217 alphabetic codes (funds and precious
// metals included; XTS "testing" and XXX "no currency" excluded since
// neither prices a deal).
const iso4217 = `AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BOV
BRL BSD BTN BWP BYN BZD CAD CDF CHE CHF CHW CLF CLP CNY COP COU CRC CUC CUP CVE CZK DJF DKK DOP
DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR
ISK JMD JOD JPY KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK
MNT MOP MRU MUR MVR MWK MXN MXV MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG
QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE SLL SOS SRD SSP STN SVC SYP SZL THB TJS TMT
TND TOP TRY TTD TWD TZS UAH UGX USD USN UYI UYU UYW UZS VED VES VND VUV WST XAF XAG XAU XBA XBB
XBC XBD XCD XCG XDR XOF XPD XPF XPT XSU XUA YER ZAR ZMW ZWG ZWL`

// currencies is iso4217 as a set; built once and never written again.
var currencies = func() map[string]bool {
	m := map[string]bool{}
	for _, c := range strings.Fields(iso4217) {
		m[c] = true
	}
	return m
}()

// ValidCurrency reports whether code is an ISO 4217 code in capitals.
func ValidCurrency(code string) bool { return currencies[code] }
