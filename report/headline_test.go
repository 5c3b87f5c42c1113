package report

import (
	"bytes"
	"strings"
	"testing"
)

func channels(rows ...ChannelRow) *Data {
	d := &Data{ReportingCurrency: "USD"}
	for _, r := range rows {
		r.Model = "last_non_direct"
		d.Channels = append(d.Channels, r)
	}
	return d
}

func TestHeadline(t *testing.T) {
	cases := []struct {
		name string
		data *Data
		want []string
	}{{
		name: "cheap leads that lose money, dear leads that pay, bots",
		data: channels(
			ChannelRow{Channel: "Paid Social", Spend: 1808, Leads: 76, Won: 1, Revenue: 519},
			ChannelRow{Channel: "Paid Search", Spend: 13307, Leads: 81, Won: 14, Revenue: 418768},
			ChannelRow{Channel: "Display", Spend: 4083, Leads: 100, Won: 2, Revenue: 24897, SpamLeads: 90},
			ChannelRow{Channel: "Direct", Leads: 36, Won: 4, Revenue: 104800, SpamLeads: 3},
		),
		want: []string{
			"By cost per lead, Paid Social looks best (23.79 USD against 164.28 USD for Paid Search). By return it is the worst: -71.3% ROI against 3,047.0%.",
			"Per won deal Paid Social costs 1,808.00 USD against 950.50 USD for Paid Search.",
			"Paid Search has the dearest leads and the best return: 418,768 USD won on 13,307 USD spent.",
			"90 of 100 Display leads (90.0%) are spam or bots; per genuine lead it costs 408.30 USD, not 40.83 USD.",
		},
	}, {
		name: "cheapest lead ranks in the middle and won nothing",
		data: channels(
			ChannelRow{Channel: "Paid Social", Spend: 1000, Leads: 100, Revenue: 500},
			ChannelRow{Channel: "Paid Search", Spend: 3000, Leads: 60, Won: 12, Revenue: 30000},
			ChannelRow{Channel: "Display", Spend: 4000, Leads: 40, Won: 1, Revenue: 0},
		),
		want: []string{
			"By cost per lead, Paid Social looks best (10.00 USD against 50.00 USD for Paid Search). By return it ranks 2 of 3: -50.0% ROI against 900.0%.",
			"Paid Social won no deal for 1,000 USD spent; Paid Search paid 250.00 USD per won deal.",
		},
	}, {
		name: "the cheapest leads are also the best return: no inversion to state",
		data: channels(
			ChannelRow{Channel: "Paid Social", Spend: 1000, Leads: 100, Won: 10, Revenue: 50000},
			ChannelRow{Channel: "Paid Search", Spend: 3000, Leads: 60, Won: 3, Revenue: 9000},
			ChannelRow{Channel: "Display", Spend: 800, Leads: 20, Won: 1, Revenue: 1000, SpamLeads: 2},
		),
	}, {
		name: "returns within ten points of each other",
		data: channels(
			ChannelRow{Channel: "Paid Social", Spend: 1000, Leads: 100, Revenue: 2000},
			ChannelRow{Channel: "Paid Search", Spend: 3000, Leads: 60, Revenue: 6200},
		),
	}, {
		name: "one paid channel has nothing to compare with",
		data: channels(
			ChannelRow{Channel: "Paid Search", Spend: 3000, Leads: 60, Won: 3, Revenue: 9000},
			ChannelRow{Channel: "Direct", Leads: 10, Won: 4, Revenue: 90000},
		),
	}, {
		name: "too few leads to rank",
		data: channels(
			ChannelRow{Channel: "Paid Social", Spend: 10, Leads: 4, Revenue: 0},
			ChannelRow{Channel: "Paid Search", Spend: 3000, Leads: 60, Revenue: 9000},
		),
	}, {
		name: "a little spam is not material",
		data: channels(ChannelRow{Channel: "Display", Spend: 800, Leads: 100, SpamLeads: 19}, ChannelRow{Channel: "Email", Leads: 10, SpamLeads: 4}),
	}, {
		name: "no data",
		data: &Data{ReportingCurrency: "USD"},
	}}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := Headline(c.data, "last_non_direct")
			if strings.Join(got, "\n") != strings.Join(c.want, "\n") {
				t.Errorf("headline:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(c.want, "\n"))
			}
		})
	}
}

func TestWriteHeadlineIsSilentWithoutAStory(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteHeadline(&buf, &Data{}, "last_non_direct"); err != nil || buf.Len() != 0 {
		t.Fatalf("wrote %q, %v; want nothing", buf.String(), err)
	}
	d := channels(ChannelRow{Channel: "Display", Spend: 800, Leads: 100, SpamLeads: 50})
	if err := WriteHeadline(&buf, d, "last_non_direct"); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "\n  50 of 100 Display leads (50.0%) are spam or bots") {
		t.Fatalf("terminal headline: %q", buf.String())
	}
}

func TestFormats(t *testing.T) {
	for in, want := range map[float64]string{0: "0", 54: "54", 76.1: "76", 1234567.4: "1,234,567", -1500: "-1,500", -0.2: "0"} {
		if got := formatCount(in); got != want {
			t.Errorf("formatCount(%v) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[float64]string{0.5: "50.0%", -0.713: "-71.3%", 30.47: "3,047.0%", 0: "0.0%"} {
		if got := formatPct(in); got != want {
			t.Errorf("formatPct(%v) = %q, want %q", in, got, want)
		}
	}
}
