package sampledata

import (
	"strconv"
	"time"
)

// session is one GA4 session being emitted.
type session struct {
	d        int
	v        *visitor
	ch       *channel
	id       int64 // ga_session_id: the session start in Unix seconds
	num      int
	start    time.Time
	gclid    string
	engaged  bool
	bot      bool
	page     int // batch_page_id
	ordering int // batch_ordering_id
	location string
	referrer string
	landing  bool // the next events belong to the landing hit
}

func (g *generator) newSession(d int, v *visitor, ch *channel, start time.Time) *session {
	s := &session{d: d, v: v, ch: ch, id: start.Unix(), num: v.sessions, start: start}
	if ch.gclid {
		s.gclid = g.gclid()
	}
	if ch.paid() {
		g.addSpend(ch, start)
	}
	g.sum.Sessions++
	return s
}

const gclidAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"

func (g *generator) gclid() string {
	b := []byte("Cj0KCQiA")
	for i := 0; i < 40; i++ {
		b = append(b, gclidAlphabet[g.rng.IntN(len(gclidAlphabet))])
	}
	return string(b) + "_BwE"
}

// landingURL is the landing page with the campaign's tags.
func (s *session) landingURL(path string) string {
	u := "https://" + host + path
	switch {
	case s.gclid != "":
		u += "?gclid=" + s.gclid
	case s.ch.campaign != "":
		u += "?utm_source=" + s.ch.source + "&utm_medium=" + s.ch.medium + "&utm_campaign=" + s.ch.campaign
	}
	return u
}

type param struct {
	key  string
	kind byte // 's' string, 'i' int, 'd' double
	s    string
	i    int64
	f    float64
}

func sp(k, v string) param         { return param{key: k, kind: 's', s: v} }
func ip(k string, v int64) param   { return param{key: k, kind: 'i', i: v} }
func dp(k string, v float64) param { return param{key: k, kind: 'd', f: v} }

// emitSession writes a visitor's session: landing, browsing, and when lead is
// set, the form submission that creates a CRM lead.
func (g *generator) emitSession(s *session, lead bool) error {
	v := s.v
	t := s.start.UnixMicro()
	landing := s.ch.landing[g.rng.IntN(len(s.ch.landing))]
	pages := 1 + g.rng.IntN(4)
	s.engaged = pages >= 2 || lead || g.rng.IntN(100) < 45
	s.location = s.landingURL(landing)
	s.referrer = s.ch.referrer
	s.landing = true
	s.page, s.ordering = 1, 1
	if v.sessions == 1 {
		if err := g.event(s, "first_visit", t, nil); err != nil {
			return err
		}
	}
	if err := g.event(s, "session_start", t, nil); err != nil {
		return err
	}
	t += 40_000 + g.rng.Int64N(200_000)
	if err := g.event(s, "page_view", t, []param{ip("entrances", 1)}); err != nil {
		return err
	}
	s.landing = false
	path := landing
	for p := 1; p < pages; p++ {
		dwell := 5_000 + g.rng.Int64N(90_000) // ms
		if g.rng.IntN(3) == 0 {
			if err := g.event(s, "scroll", t+dwell*600, []param{ip("percent_scrolled", 90), ip("engagement_time_msec", dwell*6/10)}); err != nil {
				return err
			}
		}
		t += dwell * 1000
		if err := g.event(s, "user_engagement", t, []param{ip("engagement_time_msec", dwell)}); err != nil {
			return err
		}
		next := browsePages[g.rng.IntN(len(browsePages))]
		s.referrer = "https://" + host + path
		s.location = "https://" + host + next
		path = next
		s.page++
		s.ordering++
		if err := g.event(s, "page_view", t+100_000, nil); err != nil {
			return err
		}
		t += 100_000
	}
	if lead {
		formPage, formID := leadForm(s.ch)
		if path != formPage {
			t += (3_000 + g.rng.Int64N(20_000)) * 1000
			s.referrer = "https://" + host + path
			s.location = "https://" + host + formPage
			s.page++
			s.ordering++
			if err := g.event(s, "page_view", t, nil); err != nil {
				return err
			}
		}
		t += (4_000 + g.rng.Int64N(20_000)) * 1000
		if err := g.event(s, "form_start", t, []param{sp("form_id", formID), sp("form_name", formID), ip("engagement_time_msec", 4000)}); err != nil {
			return err
		}
		t += (25_000 + g.rng.Int64N(150_000)) * 1000
		if err := g.submit(s, t, formID); err != nil {
			return err
		}
	}
	final := 2_000 + g.rng.Int64N(40_000)
	if !s.engaged {
		final = 300 + g.rng.Int64N(4_000)
	}
	return g.event(s, "user_engagement", t+final*1000, []param{ip("engagement_time_msec", final)})
}

func leadForm(c *channel) (page, formID string) {
	switch c.quality {
	case "social":
		return "/resources/whitepaper", "whitepaper_download"
	case "search", "display":
		return "/demo", "demo_request"
	}
	return "/contact", "contact_sales"
}

// submit emits generate_lead and creates the CRM lead behind it.
func (g *generator) submit(s *session, t int64, formID string) error {
	g.sum.LeadEvents++
	link := g.leadLink(s)
	if link == linkUserID && s.v.clientID != "" {
		s.v.userID = "u" + strconv.Itoa(100000+g.nextUser)
		g.nextUser++
	}
	if err := g.event(s, "generate_lead", t, []param{sp("form_id", formID), sp("form_name", formID), sp("form_destination", "https://"+host+"/api/forms"), dp("value", 0), sp("currency", "USD")}); err != nil {
		return err
	}
	return g.createLead(s, t, link)
}

// emitBot writes a bot's session: it lands and submits the demo form within
// seconds, never engaging. Its CRM lead is disqualified as bot or spam.
func (g *generator) emitBot(d int, date time.Time, ch *channel) error {
	start := g.sessionStart(date)
	v := &visitor{acq: ch, device: 1, geo: g.rng.IntN(len(geos)),
		clientID: strconv.FormatInt(100000000+g.rng.Int64N(1900000000), 10) + "." + strconv.FormatInt(start.Unix(), 10)}
	v.sessions = 1
	v.firstTouch = start.UnixMicro()
	g.sum.Users++
	s := g.newSession(d, v, ch, start)
	s.bot = true
	s.location = s.landingURL("/demo")
	s.referrer = ""
	s.landing = true
	s.page, s.ordering = 1, 1
	t := start.UnixMicro()
	for _, name := range []string{"first_visit", "session_start"} {
		if err := g.event(s, name, t, nil); err != nil {
			return err
		}
	}
	t += 20_000
	if err := g.event(s, "page_view", t, []param{ip("entrances", 1)}); err != nil {
		return err
	}
	s.landing = false
	t += (800 + g.rng.Int64N(2_000)) * 1000
	if err := g.event(s, "form_start", t, []param{sp("form_id", "demo_request"), sp("form_name", "demo_request"), ip("engagement_time_msec", 120)}); err != nil {
		return err
	}
	t += (1_000 + g.rng.Int64N(5_000)) * 1000
	g.sum.LeadEvents++
	if err := g.event(s, "generate_lead", t, []param{sp("form_id", "demo_request"), sp("form_name", "demo_request"), sp("form_destination", "https://"+host+"/api/forms"), dp("value", 0), sp("currency", "USD")}); err != nil {
		return err
	}
	return g.createBotLead(s, t)
}

// event writes one export row (twice when it is a duplicate), to the
// intraday table too when it falls before the intraday cut.
func (g *generator) event(s *session, name string, ts int64, extra []param) error {
	late := g.rng.IntN(1000) < 5
	dup := g.rng.IntN(1000) < 3
	offset := 200_000 + g.rng.Int64N(3_000_000)
	if late {
		offset = 86_400_000_000 + g.rng.Int64N(2*86_400_000_000)
		g.sum.LateEvents++
	}
	g.bundleSeq++
	g.produced++
	line := g.appendEvent(g.line[:0], s, name, ts, offset, extra)
	line = append(line, '\n')
	g.line = line
	n := 1
	if dup {
		n = 2
		g.sum.DuplicateEvents++
	}
	for i := 0; i < n; i++ {
		if late && g.opts.FirstExport {
			break
		}
		if _, err := g.daily.Write(line); err != nil {
			return err
		}
		g.sum.Events++
		if s.v.clientID == "" {
			g.sum.CookielessEvents++
		}
		if g.intraday != nil && ts < g.intradayCut && !late {
			if _, err := g.intraday.Write(line); err != nil {
				return err
			}
		}
	}
	return nil
}
