package linkedin

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/sam-attribution/sam/activation"
)

var (
	firstNames = []string{"Jane", "Jürgen", "Siobhán", "Mohammed", "Li", "Ana-María", "O'Neil"}
	lastNames  = []string{"Doe", "Müller", "Ní Bhriain", "Al-Farsi", "Wang", "García López", "Smith"}
	domains    = []string{"gmail", "example", "acme-corp", "yahoo", "outlook"}
	tlds       = []string{"com", "co.uk", "de", "io"}
)

// crmString draws something a CRM field might hold about a person: a
// name, an email written out in any of the ways people write them, a phone
// number in any format, or free text mixing them.
func crmString(r *rand.Rand) string {
	first, last := firstNames[r.IntN(len(firstNames))], lastNames[r.IntN(len(lastNames))]
	dom, tld := domains[r.IntN(len(domains))], tlds[r.IntN(len(tlds))]
	lf, ll := strings.ToLower(first), strings.ToLower(last)
	phone := fmt.Sprintf("%03d %03d %04d", 200+r.IntN(700), r.IntN(1000), r.IntN(10000))
	switch r.IntN(14) {
	case 0:
		return first + " " + last
	case 1:
		return last + ", " + first
	case 2:
		return strings.ToUpper(first + " " + last)
	case 3:
		return fmt.Sprintf("%s.%s@%s.%s", lf, ll, dom, tld)
	case 4:
		return fmt.Sprintf("%s dot %s at %s dot %s", lf, ll, dom, tld)
	case 5:
		return fmt.Sprintf("%s(at)%s(dot)%s", lf, dom, tld)
	case 6:
		return fmt.Sprintf(" %s.%s+crm@%s.%s ", first, last, strings.ToUpper(dom), tld)
	case 7:
		return "+1 (" + phone[:3] + ") " + phone[4:7] + "-" + phone[8:]
	case 8:
		return strings.ReplaceAll(phone, " ", ".")
	case 9:
		return "+44 " + phone
	case 10:
		return "0044-" + strings.ReplaceAll(phone, " ", "-")
	case 11:
		return "(" + phone[:3] + ") " + phone[4:] + " ext. " + fmt.Sprint(r.IntN(99))
	case 12:
		return fmt.Sprintf("Spoke to %s %s, call back on +1 %s", first, last, phone)
	default:
		return fmt.Sprintf("%s %s <%s@%s.%s> wants a demo", first, last, lf, dom, tld)
	}
}

// TestNoPersonalDataLeaves plants random CRM strings in every string field
// of otherwise sendable events and checks that none of them appears in any
// request that reaches the simulator, nor in any outcome's detail.
func TestNoPersonalDataLeaves(t *testing.T) {
	h := newHarness(t, func(o *Options) { o.MaxBatch = 10 })
	r := rand.New(rand.NewPCG(20261120, 7))
	var planted []string
	var batch []activation.Event
	var details []string // outcome details go to the ledger and the logs
	sendable := 0
	for i := range 600 {
		e := ev(fmt.Sprintf("p%03d", i), stages[i%len(stages)])
		e.LiFatID = fatID
		v := reflect.ValueOf(&e).Elem()
		for f := range v.NumField() {
			fv := v.Field(f)
			if fv.Kind() != reflect.String || r.IntN(3) != 0 {
				continue
			}
			s := crmString(r)
			fv.SetString(s)
			planted = append(planted, strings.TrimSpace(s))
		}
		if h.d.Takes(e.Stage) && h.d.Check(e, testNow).Send() {
			sendable++
		}
		// Send gets every event: it must guard on its own.
		batch = append(batch, e)
		if len(batch) == 10 {
			for _, o := range h.send(batch...) {
				details = append(details, o.Detail)
			}
			batch = nil
		}
	}
	reqs := h.rec.requests()
	if sendable < 30 || h.sim.Stats().Effects < sendable {
		t.Fatalf("only %d events were sendable, %d took effect: the test proves little", sendable, h.sim.Stats().Effects)
	}
	for _, s := range planted {
		esc, _ := json.Marshal(s)
		forms := []string{s, strings.Trim(string(esc), `"`)}
		for _, req := range append(reqs, details...) {
			for _, f := range forms {
				if strings.Contains(req, f) {
					t.Fatalf("%q reached LinkedIn:\n%s", s, req)
				}
			}
		}
	}
}

// The details SAM records come from LinkedIn's messages; identifiers in
// them are taken out.
func TestRedact(t *testing.T) {
	for in, want := range map[string]string{
		"conversionHappenedAt is more than 90 days in the past.":       "conversionHappenedAt is more than 90 days in the past.",
		"user jane.doe@example.com is unknown":                         "user … is unknown",
		"idValue " + emailHash + " invalid":                            "idValue … invalid",
		"uuid " + fatID + " invalid":                                   "uuid … invalid",
		"call +1 (555) 010-1234 now":                                   "call … now",
		"token Bearer AQXabc was refused":                              "token … was refused",
		strings.Repeat("x", 300):                                       strings.Repeat("x", 200) + "…",
		"Resource level throttle APPLICATION MINUTE limit is reached.": "Resource level throttle APPLICATION MINUTE limit is reached.",
	} {
		if got := redact(in); got != want {
			t.Errorf("redact(%q) = %q, want %q", in, got, want)
		}
	}
}
