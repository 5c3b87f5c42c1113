package report

import (
	"context"
	"errors"
	"html/template"
	"sort"

	"github.com/sam-attribution/sam/warehouse"
)

// AccountRow is one account of fct_account_revenue.
type AccountRow struct {
	Account, FirstTouchChannel      string
	Leads, Engaged, Opportunities   float64
	WonDeals, WonRevenue, DaysToWon float64
	HasDaysToWon                    bool
}

// accountsShown is how many accounts each ranking (won revenue, leads)
// contributes to the section.
const accountsShown = 6

func loadAccounts(ctx context.Context, wh warehouse.Warehouse) ([]AccountRow, error) {
	return loadOptional(ctx, wh, "fct_account_revenue",
		`SELECT account_name, first_touch_channel, lead_count, contacts_engaged, opportunities, won_deals, CAST(won_revenue AS FLOAT64), days_to_won FROM %s`,
		func(v []any) (AccountRow, error) {
			r := AccountRow{Account: warehouse.Format(v[0]), HasDaysToWon: v[7] != nil}
			if v[1] != nil {
				r.FirstTouchChannel = warehouse.Format(v[1])
			}
			return r, errors.Join(warehouse.ConvertAssign(&r.Leads, orZero(v[2])), warehouse.ConvertAssign(&r.Engaged, orZero(v[3])),
				warehouse.ConvertAssign(&r.Opportunities, orZero(v[4])), warehouse.ConvertAssign(&r.WonDeals, orZero(v[5])),
				warehouse.ConvertAssign(&r.WonRevenue, orZero(v[6])), warehouse.ConvertAssign(&r.DaysToWon, orZero(v[7])))
		})
}

// accounts shows the accounts that bought most beside the ones that sent
// most leads, so an account that brings many leads and never buys stands
// next to the ones that pay. The table covers all time: accounts are not
// filtered by the report's period.
func (v *view) accounts() (section, bool) {
	all := v.Data.Accounts
	if len(all) == 0 {
		return section{}, false
	}
	pick := map[string]AccountRow{}
	for _, less := range []func(a, b AccountRow) bool{
		func(a, b AccountRow) bool { return a.WonRevenue > b.WonRevenue },
		func(a, b AccountRow) bool { return a.Leads > b.Leads },
	} {
		rows := append([]AccountRow(nil), all...)
		sort.SliceStable(rows, func(i, j int) bool {
			if less(rows[i], rows[j]) != less(rows[j], rows[i]) {
				return less(rows[i], rows[j])
			}
			return rows[i].Account < rows[j].Account
		})
		for _, r := range rows[:min(accountsShown, len(rows))] {
			pick[r.Account] = r
		}
	}
	rows := make([]AccountRow, 0, len(pick))
	for _, r := range pick {
		rows = append(rows, r)
	}
	sort.Slice(rows, func(i, j int) bool {
		if rows[i].WonRevenue != rows[j].WonRevenue {
			return rows[i].WonRevenue > rows[j].WonRevenue
		}
		if rows[i].Leads != rows[j].Leads {
			return rows[i].Leads > rows[j].Leads
		}
		return rows[i].Account < rows[j].Account
	})
	ds := Dataset{ID: "accounts", Title: "Top accounts by won revenue and by leads", Charts: []string{"chart-accounts"},
		Columns: []Column{{"account", KindText}, {"first touch", KindText}, {"leads", KindCount}, {"contacts engaged", KindCount},
			{"opportunities", KindCount}, {"won deals", KindCount}, {"won revenue", KindMoney}, {"days to won", KindRatio}}}
	var names []string
	rev := Series{Name: "won revenue"}
	for _, r := range rows {
		names = append(names, r.Account)
		rev.Values = append(rev.Values, r.WonRevenue)
		ds.Rows = append(ds.Rows, []any{r.Account, r.FirstTouchChannel, r.Leads, r.Engaged, r.Opportunities, r.WonDeals, r.WonRevenue,
			optional(r.DaysToWon, r.HasDaysToWon)})
	}
	lead := "Companies, from the CRM's accounts or the leads' email domains (free-mail domains excluded). " +
		"An account with many leads and no won deal costs lead spend and returns nothing."
	if !v.Data.From.IsZero() || !v.Data.To.IsZero() {
		lead += " These figures cover all time, not only the report's period."
	}
	return section{ID: "accounts", Title: "Accounts: who buys, and who only sends leads",
		Lead:   lead,
		Alt:    "Bars of won revenue per account; leads, contacts and deals per account are in the table below.",
		Charts: []template.HTML{BarChart{ID: "chart-accounts", Title: "Won revenue by account", Categories: names, Series: []Series{rev}, Format: v.money}.SVG()},
		Wide:   true,
		Data:   ds}, true
}
