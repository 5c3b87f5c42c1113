package sampledata

import (
	"hash/fnv"
	"strings"
	"time"
)

// The account-level story (issue 17). Two accounts sit in the CRM's
// accounts file beside Globex, whose leads join it by their email domain:
//
//   - Brightline Retail: a third of the Paid Social leads that never reach
//     a deal work there. Many cheap leads, no purchase.
//   - Meridian Health: the first offline leads, the webinar's attendees
//     (crm/offline_touches.csv holds a webinar touch for each, shortly
//     before the lead was created), and one large won deal the account
//     buys, linked to the account and to no lead.
//
// Who works where and when they attended derive from the lead id, its
// creation and the order of offline leads, never from the random stream,
// and the large deal belongs to no lead, so every other file stays as it
// was.
const (
	brightlineID     = "ACC-BRIGHTLINE"
	brightlineDomain = "brightline.example"
	meridianID       = "ACC-MERIDIAN"
	meridianDomain   = "meridianhealth.example"
	meridianLeads    = 3
	meridianDealUSD  = "240000.00"
	// webinarLead is how long before an attendee's lead was created the
	// webinar touch happened.
	webinarLead     = 2 * time.Hour
	webinarCampaign = "Meridian Healthcare Data Webinar"
)

var accountHeader = []string{"account_id", "name", "domain", "industry", "created_at", "updated_at", "is_deleted"}

// accountStory is what the generator remembers of the planted accounts.
type accountStory struct {
	meridian      int       // offline leads placed at Meridian so far
	meridianFirst time.Time // creation of Meridian's first lead
	attendees     []*lead   // Meridian's leads, who attended the webinar
}

// plantAccount moves a lead to a planted account when the story says so.
func (g *generator) plantAccount(l *lead, quality string) {
	switch quality {
	case "social":
		if l.out.amountHigh > 0 || idHash(l.id)%3 != 0 {
			return
		}
		moveTo(l, brightlineID, "Brightline Retail", brightlineDomain)
	case "offline":
		if g.story.meridian >= meridianLeads {
			return
		}
		if g.story.meridian == 0 {
			g.story.meridianFirst = l.created
		}
		g.story.meridian++
		g.story.attendees = append(g.story.attendees, l)
		moveTo(l, meridianID, "Meridian Health", meridianDomain)
	}
}

func moveTo(l *lead, id, company, domain string) {
	l.accountID, l.company = id, company
	if at := strings.LastIndexByte(l.email, '@'); at >= 0 {
		l.email = l.email[:at+1] + domain
	}
}

func idHash(id string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(id))
	return h.Sum64()
}

// writeAccounts writes crm/accounts.csv and Meridian's large deal.
func (g *generator) writeAccounts() error {
	f, err := g.create("crm/accounts.csv", false)
	if err != nil {
		return err
	}
	w := newCSV(f)
	w.row(accountHeader...)
	created := ts(g.start.Add(-90 * 24 * time.Hour))
	w.row(brightlineID, "Brightline Retail", "https://www."+brightlineDomain+"/", "Retail", created, created, "false")
	w.row(meridianID, "Meridian Health", meridianDomain, "Healthcare", created, created, "false")
	w.row("ACC-GLOBEX", "Globex", "globex.example", "Manufacturing", created, created, "false")
	if err := w.err(); err != nil {
		return err
	}
	if err := g.closeFile(f); err != nil {
		return err
	}
	if g.story.meridian == 0 {
		return nil
	}
	dataEnd := g.opts.End.AddDate(0, 0, 1)
	opened := g.story.meridianFirst.Add(12 * 24 * time.Hour)
	if !opened.Before(dataEnd) {
		return nil
	}
	won := g.story.meridianFirst.Add(30 * 24 * time.Hour)
	stage, closed, isWon := "proposal", time.Time{}, false
	if won.Before(dataEnd) {
		stage, closed, isWon = "closedwon", won, true
		g.sum.WonDeals++
	}
	updated := opened
	if isWon {
		updated = won
	}
	g.dealsCSV.row("D-MERIDIAN-1", "", ts(opened), ts(updated), ts(closed), stage, "enterprise", meridianDealUSD, "USD",
		boolText(isWon), "false", "false", meridianID)
	g.sum.Deals++
	return nil
}

// touchHeader is the offline touches file's header, as documented for the
// file CRM source.
var touchHeader = []string{"touch_id", "lead_id", "email_sha256", "touched_at", "type", "channel",
	"source", "medium", "campaign", "updated_at", "is_deleted"}

// writeOfflineTouches writes crm/offline_touches.csv: the webinar touch of
// each Meridian attendee. Channel, source and medium stay empty, so the
// touch type names the channel (Webinars). The file is written, header
// only, when no attendee was generated, so the file set never varies.
func (g *generator) writeOfflineTouches() error {
	f, err := g.create("crm/offline_touches.csv", false)
	if err != nil {
		return err
	}
	w := newCSV(f)
	w.row(touchHeader...)
	for _, l := range g.story.attendees {
		at := ts(l.created.Add(-webinarLead))
		w.row("T-WEBINAR-"+l.id, l.id, "", at, "webinar", "", "", "", webinarCampaign, at, "false")
	}
	if err := w.err(); err != nil {
		return err
	}
	return g.closeFile(f)
}

func boolText(b bool) string {
	if b {
		return "true"
	}
	return "false"
}
