package sampledata

import (
	"encoding/binary"
	"encoding/csv"
	"fmt"
	"hash/fnv"
	"io"
	"math"
	"strconv"
	"time"
)

// CRM export columns, as documented for the file CRM source.
var (
	leadHeader = []string{"lead_id", "created_at", "updated_at", "email", "phone", "first_name", "last_name", "company", "ga_client_id", "gclid", "user_id", "lifecycle_stage", "mql_at", "sql_at", "opportunity_at", "won_at", "lost_at", "disqualified_at", "disqualification_reason", "is_deleted", "meta_lead_id", "li_fat_id", "ad_consent", "account_id"}
	dealHeader = []string{"deal_id", "lead_id", "created_at", "updated_at", "closed_at", "stage", "pipeline", "amount", "currency", "is_won", "is_lost", "is_deleted", "account_id"}
)

type csvWriter struct{ w *csv.Writer }

func newCSV(w io.Writer) *csvWriter { return &csvWriter{w: csv.NewWriter(w)} }

func (c *csvWriter) row(fields ...string) { _ = c.w.Write(fields) } // errors surface in err()

func (c *csvWriter) err() error {
	c.w.Flush()
	return c.w.Error()
}

// How a lead's CRM record links back to GA4.
const (
	linkCookie = iota // hidden field holds the _ga cookie, GA1.1.x.y
	linkBare          // hidden field holds x.y
	linkGclid         // only the gclid was captured
	linkUserID        // the site set user_id; the CRM holds the same id
	linkNone          // the hidden fields were lost
)

// outcome is where a lead ends up.
type outcome struct {
	stage      string // furthest stage: lead, mql, sql, opportunity, won, lost, disqualified
	reason     string // disqualification reason
	amountLow  float64
	amountHigh float64 // USD before conversion to the deal's currency
}

// nextOutcome applies the quality profile's quotas to the n-th lead of that
// quality. Quotas rather than coin flips keep the planted scenario stable
// on small samples.
func (g *generator) nextOutcome(quality string) outcome {
	n := g.outcomes[quality]
	g.outcomes[quality] = n + 1
	switch quality {
	case "search":
		return []outcome{{"won", "", 15000, 45000}, {"lost", "", 12000, 30000}, {"sql", "", 0, 0}, {"mql", "", 0, 0}}[n%4]
	case "social":
		switch {
		case n%50 == 25:
			return outcome{"won", "", 300, 900}
		case n%8 == 3:
			return outcome{"lost", "", 1000, 3000}
		case n%5 == 1:
			return outcome{stage: "disqualified", reason: "no budget"}
		case n%3 == 0:
			return outcome{stage: "mql"}
		}
		return outcome{stage: "lead"}
	case "display":
		if n%3 == 0 {
			return outcome{"won", "", 9000, 15000}
		}
		return outcome{"lost", "", 5000, 9000}
	case "offline":
		return []outcome{{"won", "", 10000, 25000}, {"lost", "", 8000, 20000}, {"mql", "", 0, 0}, {"lead", "", 0, 0}, {"sql", "", 0, 0}}[n%5]
	}
	return []outcome{{"won", "", 8000, 30000}, {"sql", "", 0, 0}, {"mql", "", 0, 0}, {"lost", "", 6000, 20000}, {"disqualified", "competitor", 0, 0}, {"lead", "", 0, 0}}[n%6]
}

// leadLink picks how the CRM record links to GA4. Won leads of the paid
// channels always keep a web link, so the planted revenue stays attributable.
func (g *generator) leadLink(s *session) int {
	x := g.rng.IntN(100)
	if s.v.clientID == "" {
		if s.gclid != "" && x < 50 {
			return linkGclid
		}
		return linkNone
	}
	switch {
	case x < 45:
		return linkCookie
	case x < 70:
		return linkBare
	case x < 80:
		if s.gclid != "" {
			return linkGclid
		}
		return linkCookie
	case x < 92:
		return linkUserID
	}
	return linkNone
}

var (
	firstNames = []string{"Ava", "Liam", "Mia", "Noah", "Emma", "Lucas", "Sofia", "Ethan", "Hannah", "Jonas", "Chloe", "Mateo", "Grace", "Felix", "Isla", "Omar", "Priya", "Kenji", "Lena", "Tom"}
	lastNames  = []string{"Smith", "Müller", "Garcia", "Chen", "Patel", "Johnson", "Rossi", "Novak", "Brown", "Schmidt", "Kim", "Dubois", "Silva", "Jansen", "O'Brien", "Nguyen"}
	companies  = []string{"Northwind Traders", "Globex", "Initech", "Umbrella Health", "Stark Logistics", "Wayne Analytics", "Tyrell Systems", "Hooli", "Vandelay Industries", "Soylent Foods", "Cyberdyne Labs", "Aperture Science", "Massive Dynamic", "Pied Piper", "Wonka Supply"}
)

func (g *generator) person() (first, last, company, email, phone string) {
	first = firstNames[g.rng.IntN(len(firstNames))]
	last = lastNames[g.rng.IntN(len(lastNames))]
	company = companies[g.rng.IntN(len(companies))]
	domain := make([]byte, 0, len(company))
	for i := 0; i < len(company); i++ {
		c := company[i]
		switch {
		case c >= 'A' && c <= 'Z':
			domain = append(domain, c+'a'-'A')
		case c >= 'a' && c <= 'z':
			domain = append(domain, c)
		}
	}
	local := make([]byte, 0, 16)
	for _, s := range []string{first, ".", last} {
		for i := 0; i < len(s); i++ {
			c := s[i]
			switch {
			case c >= 'A' && c <= 'Z':
				local = append(local, c+'a'-'A')
			case c >= 'a' && c <= 'z' || c == '.':
				local = append(local, c)
			}
		}
	}
	email = string(local) + strconv.Itoa(g.rng.IntN(100)) + "@" + string(domain) + ".example"
	phone = "+1 555 01" + strconv.Itoa(10+g.rng.IntN(90))
	return
}

func ts(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Truncate(time.Second).Format(time.RFC3339)
}

// lead is one CRM lead record being written.
type lead struct {
	id                                      string
	created                                 time.Time
	first, last, company, email, phone      string
	clientID, gclid, userID                 string
	metaLeadID, liFatID, adConsent          string
	accountID                               string
	out                                     outcome
	deleted                                 bool
	mql, sql, opp, won, lost, disq, updated time.Time
	stage                                   string
}

// createLead writes the CRM lead (and deal) behind a web form submission.
func (g *generator) createLead(s *session, submit int64, link int) error {
	quality := s.ch.quality
	if s.v.spam {
		quality = "spam"
	}
	var out outcome
	if quality == "spam" {
		out = outcome{stage: "disqualified", reason: "spam"}
	} else {
		out = g.nextOutcome(quality)
	}
	if out.stage == "won" && link == linkNone {
		link = linkCookie
	}
	l := g.newLead(time.UnixMicro(submit).Add(time.Duration(5+g.rng.IntN(85))*time.Second), out)
	if quality == "spam" {
		l.first, l.last, l.company = "asdf", "asdf", "test"
		l.email = "free.money" + strconv.Itoa(g.rng.IntN(1000)) + "@mailinator.example"
		l.phone = "1234567890"
	}
	switch link {
	case linkCookie:
		l.clientID = "GA1.1." + s.v.clientID
	case linkBare:
		l.clientID = s.v.clientID
	case linkGclid:
		l.gclid = s.gclid
	case linkUserID:
		l.userID = s.v.userID
	}
	if s.gclid != "" && link != linkNone && g.rng.IntN(2) == 0 {
		l.gclid = s.gclid // the hidden gclid field often rides along
	}
	adIdentifiers(l, s.ch.source)
	g.plantAccount(l, quality)
	return g.writeLead(l)
}

// createBotLead writes the lead a bot's submission creates: disqualified as
// bot (mostly) or spam, hours later.
func (g *generator) createBotLead(s *session, submit int64) error {
	reason := "bot"
	if g.rng.IntN(10) < 3 {
		reason = "spam"
	}
	l := g.newLead(time.UnixMicro(submit).Add(time.Duration(2+g.rng.IntN(20))*time.Second), outcome{stage: "disqualified", reason: reason})
	letters := "qwrtzpsdfghjklxcvbnm"
	junk := make([]byte, 8)
	for i := range junk {
		junk[i] = letters[g.rng.IntN(len(letters))]
	}
	l.first, l.last, l.company = string(junk[:4]), string(junk[4:]), string(junk)
	l.email = string(junk) + "@" + string(junk[:5]) + ".example"
	l.phone = "0000000000"
	if g.rng.IntN(5) == 0 {
		l.clientID = s.v.clientID
	} else {
		l.clientID = "GA1.1." + s.v.clientID
	}
	g.sum.BotLeads++
	return g.writeLead(l)
}

// offlineLeads adds leads with no web link at all (events, calls, lists).
func (g *generator) offlineLeads(date time.Time) error {
	if g.rng.IntN(3) != 0 {
		return nil
	}
	l := g.newLead(date.Add(time.Duration(8+g.rng.IntN(9))*time.Hour+time.Duration(g.rng.IntN(3600))*time.Second), g.nextOutcome("offline"))
	g.plantAccount(l, "offline")
	return g.writeLead(l)
}

func (g *generator) newLead(created time.Time, out outcome) *lead {
	g.nextLead++
	l := &lead{id: "L" + strconv.Itoa(100000+g.nextLead), created: created, out: out}
	l.first, l.last, l.company, l.email, l.phone = g.person()
	return l
}

// writeLead plays the lead's stage progression forward, cut at the end of
// the data, and writes it with its deal.
func (g *generator) writeLead(l *lead) error {
	dataEnd := g.opts.End.AddDate(0, 0, 1)
	scale := math.Min(1, math.Max(0.15, float64(g.opts.Days)/90))
	daysF := func(lo, hi float64) time.Duration {
		return time.Duration((lo + (hi-lo)*g.rng.Float64()) * scale * float64(24*time.Hour))
	}
	l.stage, l.updated = "lead", l.created
	// Draw every gap up front so the random stream does not depend on where
	// the data ends.
	gMQL, gSQL, gOpp, gClose := daysF(0.5, 3), daysF(2, 7), daysF(3, 10), daysF(7, 30)
	gDisq := time.Duration(1+g.rng.IntN(47)) * time.Hour
	amount := l.out.amountLow + (l.out.amountHigh-l.out.amountLow)*g.rng.Float64()
	curX := g.rng.IntN(100)
	reach := func(t time.Time) bool { return t.Before(dataEnd) }
	order := map[string]int{"lead": 0, "mql": 1, "sql": 2, "opportunity": 3, "won": 4, "lost": 4}
	if l.out.stage == "disqualified" {
		if t := l.created.Add(gDisq); reach(t) {
			l.disq, l.stage, l.updated = t, "disqualified", t
		}
	} else {
		want := order[l.out.stage]
		t := l.created
		for i, gap := range []time.Duration{gMQL, gSQL, gOpp, gClose} {
			if want <= i {
				break
			}
			t = t.Add(gap)
			if !reach(t) {
				break
			}
			l.updated = t
			switch i {
			case 0:
				l.mql, l.stage = t, "mql"
			case 1:
				l.sql, l.stage = t, "sql"
			case 2:
				l.opp, l.stage = t, "opportunity"
			case 3:
				if l.out.stage == "won" {
					l.won, l.stage = t, "customer"
				} else {
					l.lost, l.stage = t, "lost"
				}
			}
		}
	}
	if g.nextLead%47 == 46 && l.won.IsZero() {
		l.deleted = true
	}
	g.leadsCSV.row(l.id, ts(l.created), ts(l.updated), l.email, l.phone, l.first, l.last, l.company,
		l.clientID, l.gclid, l.userID, l.stage, ts(l.mql), ts(l.sql), ts(l.opp), ts(l.won), ts(l.lost), ts(l.disq),
		l.out.reason, strconv.FormatBool(l.deleted), l.metaLeadID, l.liFatID, l.adConsent, l.accountID)
	g.sum.Leads++
	g.badLeadRow()
	if l.opp.IsZero() {
		return nil
	}
	currency, rate := "USD", 1.0
	switch {
	case curX >= 85:
		currency, rate = "GBP", 1.27
	case curX >= 60:
		currency, rate = "EUR", 1.08
	}
	g.nextDeal++
	stage, closed := "proposal", time.Time{}
	switch {
	case !l.won.IsZero():
		stage, closed = "closedwon", l.won
		g.sum.WonDeals++
	case !l.lost.IsZero():
		stage, closed = "closedlost", l.lost
	}
	g.dealsCSV.row("D"+strconv.Itoa(500000+g.nextDeal), l.id, ts(l.opp), ts(l.updated), ts(closed), stage, "default",
		strconv.FormatFloat(math.Round(amount/rate*100)/100, 'f', 2, 64), currency,
		strconv.FormatBool(!l.won.IsZero()), strconv.FormatBool(!l.lost.IsZero()), strconv.FormatBool(l.deleted), "")
	g.sum.Deals++
	g.badDealRow(l.id)
	return nil
}

// badLeadRow and badDealRow plant a few malformed rows, at fixed positions,
// so every run exercises the CRM loader's rejects.
func (g *generator) badLeadRow() {
	switch g.sum.Leads {
	case 7:
		g.leadsCSV.row("L-BAD-DATE", "2024-02-30T25:61:00Z", "2024-02-30T25:61:00Z", "bad.date@example.example", "", "Bad", "Date", "Initech", "", "", "", "lead", "", "", "", "", "", "", "", "false", "", "", "", "")
	case 15:
		g.leadsCSV.row("", ts(g.opts.End), ts(g.opts.End), "no.id@example.example", "", "No", "Id", "Globex", "", "", "", "lead", "", "", "", "", "", "", "", "false", "", "", "", "")
	case 25:
		g.leadsCSV.row("L-BAD-STAGE", ts(g.opts.End), ts(g.opts.End), "stage@example.example", "", "Bad", "Stage", "Hooli", "", "", "", "prospect??", "", "", "", "", "", "", "", "maybe", "", "", "", "")
	default:
		return
	}
	g.sum.BadCRMRows++
}

func (g *generator) badDealRow(leadID string) {
	switch g.sum.Deals {
	case 5:
		g.dealsCSV.row("D-BAD-AMOUNT", leadID, ts(g.opts.End), ts(g.opts.End), "", "proposal", "default", "12,500.00", "USD", "false", "false", "false", "")
	case 9:
		g.dealsCSV.row("D-BAD-CURRENCY", leadID, ts(g.opts.End), ts(g.opts.End), "", "proposal", "default", "100.00", "US Dollars", "false", "false", "false", "")
	default:
		return
	}
	g.sum.BadCRMRows++
}

// adIdentifiers sets the ad platforms' own lead identifiers and the ads
// consent a web lead's CRM record carries. They derive from the lead id, not
// from the random stream, so adding them moved no other generated value:
// Facebook leads carry a Meta lead id (15 digits, as lead ads issue them),
// LinkedIn leads the li_fat_id first-party cookie (a UUID), and one lead in
// eight declined ads consent on the form.
func adIdentifiers(l *lead, source string) {
	h := fnv.New64a()
	h.Write([]byte(l.id))
	sum := h.Sum64()
	switch source {
	case "facebook":
		l.metaLeadID = strconv.FormatUint(100000000000000+sum%900000000000000, 10)
	case "linkedin":
		b := make([]byte, 8)
		binary.BigEndian.PutUint64(b, sum)
		l.liFatID = fmt.Sprintf("%x-%x-4%x-8%x-%x%x", b[:4], b[4:6], b[6:7], b[7:8], b, b[:2])
	}
	l.adConsent = "granted"
	if sum%8 == 0 {
		l.adConsent = "denied"
	}
}
