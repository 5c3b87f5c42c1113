package spend

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"math/big"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sam-attribution/sam/internal/iso4217"
	"github.com/sam-attribution/sam/loaders"
)

var fuzzNow = time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)

// dataLines counts the lines of a CSV file a parser must account for: every
// non-blank line after the header; a UTF-16 file's lines are its decoded
// ones.
func dataLines(data []byte) int64 {
	if text, _, ok := decodeUTF16(data); ok {
		data = text
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64*1024), 16*1024*1024)
	var n int64
	for sc.Scan() {
		if strings.TrimSpace(sc.Text()) != "" {
			n++
		}
	}
	return max(n-1, 0)
}

// checkAccounting asserts read = loaded + rejected, that every data line is
// read (a file without data lines may be one reject: the file's, when it is
// damaged), and that every reject says why and keeps its line.
func checkAccounting(t *testing.T, data []byte, rows [][]any, rejects []loaders.Reject, c loaders.Counts, width int) {
	t.Helper()
	if c.Read != c.Loaded+c.Rejected || c.Loaded != int64(len(rows)) || c.Rejected != int64(len(rejects)) {
		t.Fatalf("counts %+v for %d rows and %d rejects", c, len(rows), len(rejects))
	}
	if want := dataLines(data); c.Read != want && !(want == 0 && c.Read == 1 && len(rejects) == 1) { // or the file's own reject
		t.Fatalf("read %d lines, the file has %d data lines:\n%q", c.Read, want, data)
	}
	for _, r := range rejects {
		if r.Reason == "" || r.Source == "" || r.Object == "" {
			t.Fatalf("reject without a reason, source or file: %+v", r)
		}
	}
	for _, r := range rows {
		if len(r) != width {
			t.Fatalf("row has %d values, the schema %d: %v", len(r), width, r)
		}
	}
}

var canonicalDecimal = regexp.MustCompile(`^-?[0-9]{1,29}(\.[0-9]{1,9})?$`)

// FuzzParseSpend feeds arbitrary files to the spend parser.
//
//	go test ./loaders/spend -run '^$' -fuzz '^FuzzParseSpend$' -fuzztime 20s
func FuzzParseSpend(f *testing.F) {
	for _, seed := range []string{
		"date,source,medium,campaign,cost,currency\n2026-11-01,google,cpc,brand,12.50,USD\n",
		"\xef\xbb\xbfDate, Source ,medium,campaign,cost,currency,extra\r\n2026-11-01,facebook,paid_social,,0.1,eur,x\r\n\r\n2026-11-02,bing,cpc,\"a,b\",-1,USD,\n",
		"date,source,medium,campaign,cost,currency\n2026-02-30,google,cpc,x,1,USD\n2026-11-01,,cpc,x,1,USD\n2026-11-01,google,cpc,x,1e3,USD\n2026-11-01,google,cpc,x,1,XXX\n",
		"date,source,medium,campaign,cost,currency\n2026-11-01,google,cpc,\"open\n2026-11-02,google,cpc,x,1,USD\n",
		"source,medium\nx,y\n",
		"",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		rows, rejects, c := parseSpend("spend.csv", data, fuzzNow)
		checkAccounting(t, data, rows, rejects, c, len(SpendSchema.Columns))
		for _, r := range rows {
			if _, ok := r[0].(time.Time); !ok {
				t.Fatalf("spend_date is %T", r[0])
			}
			if s := r[1].(string); s == "" || s != strings.ToLower(s) {
				t.Fatalf("source %q: want non-empty lower case", s)
			}
			cost := r[4].(string)
			if !canonicalDecimal.MatchString(cost) {
				t.Fatalf("cost %q is not canonical decimal text", cost)
			}
			if v, _ := new(big.Rat).SetString(cost); v.Sign() < 0 {
				t.Fatalf("negative cost %q loaded", cost)
			}
			if !iso4217.Active(r[5].(string)) {
				t.Fatalf("currency %q loaded", r[5])
			}
		}
	})
}

// FuzzParseFX feeds arbitrary files to the currency rates parser.
//
//	go test ./loaders/spend -run '^$' -fuzz '^FuzzParseFX$' -fuzztime 20s
func FuzzParseFX(f *testing.F) {
	for _, seed := range []string{
		"date,from_currency,to_currency,rate\n2026-11-01,EUR,USD,1.08\n2026-11-01,EUR,USD,1.09\n2026-11-01,USD,USD,1\n2026-11-01,GBP,USD,0\n",
		"date,from_currency,to_currency\n2026-11-01,EUR,USD\n",
		"date,from_currency,to_currency,rate\n\"2026-11-01\",eur,usd,+1.5.\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		rows, rejects, c := parseFX("fx_rates.csv", data, fuzzNow)
		checkAccounting(t, data, rows, rejects, c, len(FXSchema.Columns))
		seen := map[string]bool{}
		for _, r := range rows {
			from, to, rate := r[1].(string), r[2].(string), r[3].(string)
			if from == to || !iso4217.Active(from) || !iso4217.Active(to) {
				t.Fatalf("loaded rate %s->%s", from, to)
			}
			if v, ok := new(big.Rat).SetString(rate); !ok || v.Sign() <= 0 || !canonicalDecimal.MatchString(rate) {
				t.Fatalf("loaded rate %q", rate)
			}
			k := r[0].(time.Time).Format(time.DateOnly) + from + to
			if seen[k] {
				t.Fatalf("two rates loaded for %s", k)
			}
			seen[k] = true
		}
	})
}

// FuzzSpendRowRoundTrip writes one spend row the way a spreadsheet would
// (encoding/csv) and checks that a row valid by the documented format loads
// with exactly its values, and any other row is rejected with a reason.
//
//	go test ./loaders/spend -run '^$' -fuzz '^FuzzSpendRowRoundTrip$' -fuzztime 20s
func FuzzSpendRowRoundTrip(f *testing.F) {
	f.Add("2026-11-01", "Google", "CPC", "Brand, EU", "1250.50", "usd")
	f.Add(" 2026-11-01 ", "facebook", "paid_social", "", "0", "EUR")
	f.Add("2026-11-01", "google", "cpc", "x", "-0.00", "USD")
	f.Add("2026-13-01", "google", "cpc", "x", "1", "USD")
	f.Add("2026-11-01", "google", "cpc", "x", "1,000.00", "USD")
	f.Add("2026-11-01", "google", "cpc", "x", "12345678901234567890123456789.123456789", "JPY")
	f.Add("2026-11-01", "google", "cpc", "multi\nline", "1", "USD")
	f.Fuzz(func(t *testing.T, date, source, medium, campaign, cost, currency string) {
		var buf bytes.Buffer
		w := csv.NewWriter(&buf)
		w.Write([]string{"date", "source", "medium", "campaign", "cost", "currency"})
		w.Write([]string{date, source, medium, campaign, cost, currency})
		w.Flush()
		data := buf.Bytes()
		rows, rejects, c := parseSpend("spend.csv", data, fuzzNow)
		checkAccounting(t, data, rows, rejects, c, len(SpendSchema.Columns))
		if strings.ContainsAny(date+source+medium+campaign+cost+currency, "\r\n") {
			return // a field spanning lines is rejected by design; accounting suffices
		}
		valid := validSpendRow(date, source, medium, cost, currency)
		switch {
		case valid && len(rows) != 1:
			t.Fatalf("valid row rejected: %+v\n%q", rejects, data)
		case !valid && len(rows) != 0:
			t.Fatalf("invalid row loaded: %v\n%q", rows[0], data)
		case !valid:
			return
		}
		r := rows[0]
		d, _ := time.Parse(time.DateOnly, strings.TrimSpace(date))
		if !r[0].(time.Time).Equal(d) {
			t.Errorf("date %v, want %v", r[0], d)
		}
		if r[1] != strings.ToLower(strings.TrimSpace(source)) || r[2] != strings.ToLower(strings.TrimSpace(medium)) {
			t.Errorf("source/medium %q/%q from %q/%q", r[1], r[2], source, medium)
		}
		wantCampaign := any(strings.TrimSpace(campaign))
		if wantCampaign == "" {
			wantCampaign = nil
		}
		if r[3] != wantCampaign {
			t.Errorf("campaign %#v, want %#v", r[3], wantCampaign)
		}
		got, _ := new(big.Rat).SetString(r[4].(string))
		want, _ := new(big.Rat).SetString(strings.TrimSpace(cost))
		if got == nil || got.Cmp(want) != 0 {
			t.Errorf("cost %q from %q", r[4], cost)
		}
		if r[5] != strings.ToUpper(strings.TrimSpace(currency)) {
			t.Errorf("currency %q from %q", r[5], currency)
		}
	})
}

var documentedCost = regexp.MustCompile(`^\+?[0-9]{1,29}(\.[0-9]{0,9})?$|^-0{1,29}(\.0{0,9})?$`)

// validSpendRow is the documented format, written independently of the
// parser: a YYYY-MM-DD date, non-empty source and medium, a non-negative
// plain decimal cost (NUMERIC's 29.9 digits) and a known ISO 4217 code;
// surrounding spaces do not matter.
func validSpendRow(date, source, medium, cost, currency string) bool {
	d, err := time.Parse(time.DateOnly, strings.TrimSpace(date))
	if err != nil || d.After(fuzzNow.Add(24*time.Hour)) { // spend is not dated in the future
		return false
	}
	if strings.TrimSpace(source) == "" || strings.TrimSpace(medium) == "" {
		return false
	}
	if !documentedCost.MatchString(strings.TrimSpace(cost)) {
		return false
	}
	return iso4217.Active(strings.ToUpper(strings.TrimSpace(currency)))
}
