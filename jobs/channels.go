package jobs

import (
	"context"
	"fmt"
	"math"
	"sort"
	"text/tabwriter"

	"github.com/sam-attribution/sam/report"
)

// printChannelTables ends `sam run` with what SAM is for: per channel, the
// spend, leads, cost per lead, won revenue, ROI and spam rate, under two
// attribution models, so cost per lead and return sit side by side.
func (a *App) printChannelTables(ctx context.Context) error {
	data, err := report.Load(ctx, a.WH, a.Cfg.ReportingCurrency)
	if err != nil {
		return err
	}
	w := a.opts.Stdout
	for _, model := range []string{"last_non_direct", "markov"} {
		rows := data.ForModel(model)
		if len(rows) == 0 {
			continue
		}
		sort.SliceStable(rows, func(i, j int) bool {
			ri, iok := rows[i].ROI()
			rj, jok := rows[j].ROI()
			if iok != jok {
				return iok
			}
			return ri > rj
		})
		fmt.Fprintf(w, "\nchannels by ROI — attribution model %s (amounts in %s)\n", model, data.ReportingCurrency)
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "channel\tspend\tleads\tcost per lead\twon revenue\tROI\tspam rate\t")
		for _, r := range rows {
			cpl, roi := "-", "-"
			if r.Spend > 0 {
				cpl = fmt.Sprintf("%.2f", r.CostPerLead())
				v, _ := r.ROI()
				roi = fmt.Sprintf("%.0f%%", v*100)
			}
			fmt.Fprintf(tw, "%s\t%.0f\t%.1f\t%s\t%.0f\t%s\t%.0f%%\t\n", r.Channel, r.Spend, r.Leads, cpl, math.Round(r.Revenue), roi, r.SpamRate()*100)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	return nil
}
