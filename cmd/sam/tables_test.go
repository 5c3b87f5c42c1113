package main

import (
	"bytes"
	"regexp"
	"strings"
	"testing"

	"github.com/sam-attribution/sam/report"
)

// A paid channel that spent and brought no lead has no cost per lead and
// no spam rate. Before, the run summary printed 0.00 and 0%, as if it were
// the cheapest and cleanest channel.
func TestChannelTableShowsNoCostPerLeadWithoutLeads(t *testing.T) {
	d := &report.Data{ReportingCurrency: "USD", Channels: []report.ChannelRow{
		{Model: "markov", Channel: "Paid Search", Spend: 31},
		{Model: "markov", Channel: "Display", Spend: 100, Leads: 4, SpamLeads: 1, Revenue: 50},
	}}
	var buf bytes.Buffer
	if err := printChannelTables(&buf, d); err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`Paid Search\s+31\s+0\.0\s+-\s+0\s+-100%\s+-`).MatchString(buf.String()) {
		t.Errorf("want Paid Search with no cost per lead and no spam rate:\n%s", buf.String())
	}
	if !regexp.MustCompile(`Display\s+100\s+4\.0\s+25\.00\s+50\s+-50%\s+25%`).MatchString(buf.String()) {
		t.Errorf("want Display's figures:\n%s", buf.String())
	}
}

// What the channel tables leave out follows them.
func TestChannelTablesSayWhatTheyLeaveOut(t *testing.T) {
	d := &report.Data{ReportingCurrency: "USD", Channels: []report.ChannelRow{{Model: "markov", Channel: "Direct", Leads: 2}},
		Outside: report.Outside{AccountWon: 1, AccountRevenue: 240000}}
	var buf bytes.Buffer
	if err := printChannelTables(&buf, d); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "not in these tables: 1 won deal of 240,000 USD was won at account level") {
		t.Errorf("want the account-level deal said:\n%s", buf.String())
	}
}
