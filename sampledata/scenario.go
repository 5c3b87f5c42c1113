package sampledata

import (
	"strconv"
	"time"
)

// channel is one way visitors arrive. The planted scenario lives in these
// numbers: cost per session (cpc), how many new visitors of the channel
// become leads (leadEvery) and how those leads progress (quality).
//
//	channel       CPL (approx.)   leads that close   deal size     result
//	Paid Search   ~150 USD        1 in 4 won         15–45k        best ROI
//	Paid Social    ~25 USD        1 in 50 won        0.3–0.9k      worst ROI, cheapest leads
//	Display        ~40 USD        bots: ~85 % of leads; real ones 1 in 3 won, 9–15k
//
// Journeys stay within their acquisition channel (later sessions are the
// same paid channel or direct), so no attribution model can move revenue
// between paid channels.
type channel struct {
	key      string // stable key for counters
	source   string
	medium   string
	campaign string
	// campaignID and the Google Ads fields fill the export's campaign records.
	campaignID string
	gclid      bool
	referrer   string
	landing    []string
	share      float64 // share of new visitors
	cpc        float64 // cost per paid session, in currency
	currency   string
	leadEvery  int    // every leadEvery-th new visitor (0th first) is a prospect
	quality    string // outcome profile of its leads
	group      string // GA4 default channel group the sources classify as
	// botEvery: every botEvery-th session of the channel also brings a bot
	// that submits the form seconds after landing.
	botEvery int
}

func (c *channel) paid() bool { return c.cpc > 0 }

var channels = []*channel{
	{key: "organic_google", source: "google", medium: "organic", referrer: "https://www.google.com/", landing: []string{"/blog/b2b-attribution-guide", "/blog/crm-revenue-tracking", "/"}, share: 0.22, leadEvery: 110, quality: "organic", group: "Organic Search"},
	{key: "organic_bing", source: "bing", medium: "organic", referrer: "https://www.bing.com/", landing: []string{"/blog/b2b-attribution-guide", "/"}, share: 0.05, leadEvery: 110, quality: "organic", group: "Organic Search"},
	{key: "search_brand", source: "google", medium: "cpc", campaign: "brand_search", campaignID: "20931001", gclid: true, referrer: "https://www.google.com/", landing: []string{"/pricing", "/product"}, share: 0.05, cpc: 6.0, currency: "USD", leadEvery: 22, quality: "search", group: "Paid Search"},
	{key: "search_generic", source: "google", medium: "cpc", campaign: "nonbrand_attribution", campaignID: "20931002", gclid: true, referrer: "https://www.google.com/", landing: []string{"/product", "/product/integrations"}, share: 0.07, cpc: 6.5, currency: "USD", leadEvery: 22, quality: "search", group: "Paid Search"},
	{key: "social_facebook", source: "facebook", medium: "paid_social", campaign: "fb_leadgen_whitepaper", campaignID: "6021001", referrer: "https://m.facebook.com/", landing: []string{"/resources/whitepaper"}, share: 0.09, cpc: 0.6, currency: "USD", leadEvery: 30, quality: "social", group: "Paid Social"},
	{key: "social_linkedin", source: "linkedin", medium: "paid_social", campaign: "li_sponsored_content", campaignID: "7031001", referrer: "https://www.linkedin.com/", landing: []string{"/resources/whitepaper"}, share: 0.06, cpc: 0.8, currency: "USD", leadEvery: 30, quality: "social", group: "Paid Social"},
	{key: "display", source: "criteo", medium: "display", campaign: "retargeting_banners", campaignID: "88001", referrer: "", landing: []string{"/demo"}, share: 0.07, cpc: 2.8, currency: "EUR", leadEvery: 100, quality: "display", group: "Display", botEvery: 14},
	{key: "email", source: "newsletter", medium: "email", campaign: "monthly_nurture", campaignID: "", referrer: "", landing: []string{"/blog/crm-revenue-tracking", "/customers"}, share: 0.05, leadEvery: 50, quality: "organic", group: "Email"},
	{key: "referral", source: "g2.com", medium: "referral", referrer: "https://www.g2.com/products/acme-analytics/reviews", landing: []string{"/customers", "/"}, share: 0.08, leadEvery: 80, quality: "organic", group: "Referral"},
	{key: "direct", source: "(direct)", medium: "(none)", landing: []string{"/", "/pricing"}, share: 0.26, leadEvery: 110, quality: "organic", group: "Direct"},
}

var (
	directChannel = channelByKey("direct")
	organicGoogle = channelByKey("organic_google")
	emailChannel  = channelByKey("email")
)

func channelByKey(key string) *channel {
	for _, c := range channels {
		if c.key == key {
			return c
		}
	}
	panic("sampledata: no channel " + key) // the table above is static: a typo here is a programming error
}

// pickChannel draws a channel by share.
func (g *generator) pickChannel() *channel {
	x := g.rng.Float64()
	for _, c := range channels {
		if x < c.share {
			return c
		}
		x -= c.share
	}
	return directChannel
}

const host = "www.acme-analytics.example"

var pageTitles = map[string]string{
	"/":                            "Acme Analytics – Revenue attribution for B2B",
	"/pricing":                     "Pricing – Acme Analytics",
	"/product":                     "Product – Acme Analytics",
	"/product/integrations":        "Integrations – Acme Analytics",
	"/customers":                   "Customers – Acme Analytics",
	"/blog/b2b-attribution-guide":  "The B2B attribution guide",
	"/blog/crm-revenue-tracking":   "Tracking revenue from CRM to ads",
	"/resources/whitepaper":        "Whitepaper: Pipeline, not clicks",
	"/demo":                        "Book a demo – Acme Analytics",
	"/contact":                     "Contact sales – Acme Analytics",
	"/about":                       "About us – Acme Analytics",
	"/resources/whitepaper/thanks": "Thanks for downloading",
}

var browsePages = []string{"/", "/pricing", "/product", "/product/integrations", "/customers", "/blog/b2b-attribution-guide", "/blog/crm-revenue-tracking", "/about"}

type deviceProfile struct {
	category, brand, model, os, osVersion, browser, browserVersion, language string
}

var devices = []deviceProfile{
	{"desktop", "Apple", "Safari", "Macintosh", "Macintosh Intel 14.4", "Safari", "17.4", "en-us"},
	{"desktop", "Google", "Chrome", "Windows", "Windows 10", "Chrome", "124.0.6367.91", "en-us"},
	{"desktop", "Microsoft", "Edge", "Windows", "Windows 11", "Edge", "124.0.2478.67", "en-gb"},
	{"desktop", "Mozilla", "Firefox", "Linux", "Linux x86_64", "Firefox", "125.0", "de-de"},
	{"mobile", "Apple", "iPhone", "iOS", "iOS 17.4.1", "Safari", "17.4", "en-us"},
	{"mobile", "Samsung", "SM-S911B", "Android", "Android 14", "Chrome", "124.0.6367.82", "en-gb"},
	{"mobile", "Google", "Pixel 8", "Android", "Android 14", "Chrome", "124.0.6367.82", "en-us"},
	{"tablet", "Apple", "iPad", "iOS", "iPadOS 17.4", "Safari", "17.4", "en-us"},
}

type geoProfile struct{ city, country, continent, region, subContinent, metro string }

var geos = []geoProfile{
	{"New York", "United States", "Americas", "New York", "Northern America", "New York NY"},
	{"San Francisco", "United States", "Americas", "California", "Northern America", "San Francisco-Oakland-San Jose CA"},
	{"Austin", "United States", "Americas", "Texas", "Northern America", "Austin TX"},
	{"London", "United Kingdom", "Europe", "England", "Northern Europe", "(not set)"},
	{"Berlin", "Germany", "Europe", "Berlin", "Western Europe", "(not set)"},
	{"Amsterdam", "Netherlands", "Europe", "North Holland", "Western Europe", "(not set)"},
	{"Toronto", "Canada", "Americas", "Ontario", "Northern America", "(not set)"},
	{"Sydney", "Australia", "Oceania", "New South Wales", "Australasia", "(not set)"},
}

// visitor is a browser (a GA client id) and, once known, the lead behind it.
type visitor struct {
	clientID   string // x.y, the _ga cookie's id; "" for consent-denied visitors
	firstTouch int64  // µs
	acq        *channel
	sessions   int
	device     int
	geo        int
	// prospect visitors submit a form in session leadSession.
	prospect    bool
	leadSession int
	spam        bool
	userID      string
}

// hourWeights shapes traffic over the day (UTC): business hours in Europe
// and the Americas.
var hourWeights = [24]float64{1, 1, 1, 1, 1, 2, 3, 5, 7, 8, 8, 8, 8, 9, 10, 10, 9, 8, 6, 5, 4, 3, 2, 1}

func (g *generator) sessionStart(date time.Time) time.Time {
	total := 0.0
	for _, w := range hourWeights[:23] { // no session starts in the last hour: sessions stay inside the day
		total += w
	}
	x := g.rng.Float64() * total
	h := 0
	for ; h < 22; h++ {
		if x < hourWeights[h] {
			break
		}
		x -= hourWeights[h]
	}
	return date.Add(time.Duration(h)*time.Hour + time.Duration(g.rng.Int64N(int64(time.Hour))))
}

// simulateDay emits one export day: visitors returning today first, then
// new visitors until the day's event target is met.
func (g *generator) simulateDay(d int, date time.Time) error {
	target := g.opts.EventsPerDay
	if wd := date.Weekday(); wd == time.Saturday || wd == time.Sunday {
		target = target * 6 / 10
	}
	start := g.produced
	returning := g.pending[d]
	delete(g.pending, d)
	for _, v := range returning {
		if err := g.visit(d, date, v, false); err != nil {
			return err
		}
	}
	for g.produced-start < int64(target) {
		v := g.newVisitor(date)
		if err := g.visit(d, date, v, true); err != nil {
			return err
		}
	}
	return g.offlineLeads(date)
}

func (g *generator) newVisitor(date time.Time) *visitor {
	c := g.pickChannel()
	n := g.counters[c.key]
	g.counters[c.key] = n + 1
	v := &visitor{acq: c, device: g.rng.IntN(len(devices)), geo: g.rng.IntN(len(geos))}
	// About 8 % deny consent: GA4 then sends cookieless pings.
	if g.rng.IntN(100) >= 8 {
		v.clientID = strconv.FormatInt(100000000+g.rng.Int64N(1900000000), 10) + "." + strconv.FormatInt(date.Unix()+g.rng.Int64N(86400), 10)
	}
	if n%c.leadEvery == 0 {
		v.prospect = true
		v.leadSession = 1 + g.rng.IntN(3)
		if v.clientID == "" {
			v.leadSession = 1 // a cookieless visitor has no later sessions we can see
		}
		if c.quality == "organic" && g.rng.IntN(12) == 0 {
			v.spam = true
		}
	}
	g.sum.Users++
	return v
}

// visit emits one session of v, and schedules its next one.
func (g *generator) visit(d int, date time.Time, v *visitor, isNew bool) error {
	v.sessions++
	ch := v.acq
	if !isNew {
		ch = g.returnChannel(v)
	}
	start := g.sessionStart(date)
	if isNew {
		v.firstTouch = start.UnixMicro()
	}
	lead := v.prospect && v.sessions == v.leadSession
	s := g.newSession(d, v, ch, start)
	if err := g.emitSession(s, lead); err != nil {
		return err
	}
	if ch.botEvery > 0 && g.counters["bot_"+ch.key]%ch.botEvery == 0 {
		if err := g.emitBot(d, date, ch); err != nil {
			return err
		}
	}
	if ch.botEvery > 0 {
		g.counters["bot_"+ch.key]++
	}
	// Schedule the next session: prospects return until they submit; others
	// sometimes come back. Cookieless visitors cannot be recognised again.
	if v.clientID == "" {
		return nil
	}
	next := 0
	switch {
	case v.prospect && v.sessions < v.leadSession:
		next = 1 + g.rng.IntN(4)
	case v.sessions < 4 && g.rng.IntN(100) < 22:
		next = 1 + g.rng.IntN(10)
	}
	if next > 0 && d+next < g.opts.Days {
		g.pending[d+next] = append(g.pending[d+next], v)
	}
	return nil
}

// returnChannel picks the channel of a returning session. Prospects submit
// through their acquisition channel; between, they come back direct or by
// the same channel. Other visitors mostly come back direct.
func (g *generator) returnChannel(v *visitor) *channel {
	if v.prospect && v.sessions == v.leadSession {
		return v.acq
	}
	if v.prospect {
		if g.rng.IntN(2) == 0 {
			return v.acq
		}
		return directChannel
	}
	switch x := g.rng.IntN(10); {
	case x < 6:
		return directChannel
	case x < 8 && !v.acq.paid():
		return v.acq
	case x < 9:
		return organicGoogle
	}
	return emailChannel
}
