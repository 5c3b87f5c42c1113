package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"math"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/sam-attribution/sam/jobs"
	"github.com/sam-attribution/sam/report"
	"github.com/sam-attribution/sam/transform"
	"github.com/sam-attribution/sam/warehouse"
)

// printSummary prints one row per stage of a run.
func printSummary(w io.Writer, rep jobs.Report) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(w, "\nrun %s\n", rep.RunID)
	fmt.Fprintln(tw, "STAGE\tSTATUS\tROWS\tDURATION\tDETAIL")
	for _, s := range rep.Stages {
		detail := s.Result.Detail
		if s.Err != nil {
			detail = firstLine(s.Err.Error())
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\n", s.Stage, s.Status, s.Result.Rows, s.Duration.Round(time.Millisecond), detail)
	}
	tw.Flush()
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i] + " …"
	}
	return s
}

// writePlan prints a plan as a table.
func writePlan(w io.Writer, p *transform.Plan) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "LEVEL\tMODEL\tMATERIALIZED\tACTION\tWHY\tESTIMATED BYTES")
	rebuild := 0
	for _, it := range p.Items {
		est := ""
		switch {
		case it.EstimateErr != "":
			// An engine's error can run to several lines (DuckDB's points
			// at the query); the table keeps the first.
			first, _, _ := strings.Cut(it.EstimateErr, "\n")
			est = "error: " + first
		case len(it.EstimateAfter) == 1:
			est = "after " + it.EstimateAfter[0] + " is built"
		case len(it.EstimateAfter) > 1:
			est = "after " + strings.Join(it.EstimateAfter, ", ") + " are built"
		case it.Estimate.Supported:
			est = fmt.Sprint(it.Estimate.BytesProcessed)
		}
		why := strings.Join(it.Reasons, "; ")
		if it.Action != transform.ActionSkip {
			rebuild++
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\n", it.Level, it.Model, it.Materialized, it.Action, why, est)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "\n%d of %d models would rebuild (%s)\n", rebuild, len(p.Items), p.Dialect)
	return err
}

// printChannelTables prints, per channel, the spend, leads, cost per lead,
// won revenue, ROI and spam rate, under two attribution models, so cost
// per lead and return sit side by side.
func printChannelTables(w io.Writer, data *report.Data) error {
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
			cpl, roi, spam := "-", "-", "-"
			if c, ok := r.CostPerLead(); ok && r.Spend > 0 {
				cpl = fmt.Sprintf("%.2f", c)
			}
			if v, ok := r.ROI(); ok {
				roi = fmt.Sprintf("%.0f%%", v*100)
			}
			if v, ok := r.SpamRate(); ok {
				spam = fmt.Sprintf("%.0f%%", v*100)
			}
			fmt.Fprintf(tw, "%s\t%.0f\t%.1f\t%s\t%.0f\t%s\t%s\t\n", r.Channel, r.Spend, r.Leads, cpl, math.Round(r.Revenue), roi, spam)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	for _, c := range data.Caveats() {
		fmt.Fprintf(w, "  not in these tables: %s\n", c)
	}
	return nil
}

// printActivationTables prints, per destination, what reached it by stage
// and why the rest did not, from the activation_coverage model.
func printActivationTables(ctx context.Context, w io.Writer, wh warehouse.Warehouse, currency string) error {
	// Before the transform has built activation_coverage there is nothing
	// to show; the writeback stage's own failure says why.
	if _, err := wh.Describe(ctx, "activation_coverage"); errors.Is(err, warehouse.ErrNotFound) {
		return nil
	}
	rows, err := wh.Query(ctx, `SELECT destination, stage, status, SUM(events), CAST(SUM(value) AS FLOAT64)
FROM `+wh.QualifiedName("activation_coverage")+`
GROUP BY destination, stage, status`)
	if err != nil {
		return err
	}
	defer rows.Close()
	type cell struct {
		reached, events int64
		value           float64
		missed          map[string]int64
	}
	byDest := map[string]map[string]*cell{}
	for rows.Next() {
		var (
			dest, stage, status string
			events              int64
			v                   sql.NullFloat64
		)
		if err := rows.Scan(&dest, &stage, &status, &events, &v); err != nil {
			return err
		}
		value := v.Float64
		if byDest[dest] == nil {
			byDest[dest] = map[string]*cell{}
		}
		c := byDest[dest][stage]
		if c == nil {
			c = &cell{missed: map[string]int64{}}
			byDest[dest][stage] = c
		}
		c.events += events
		if status == "sent" || status == "accepted" {
			c.reached += events
			c.value += value
		} else {
			c.missed[status] += events
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	stageOrder := map[string]int{"lead": 0, "mql": 1, "sql": 2, "opportunity": 3, "won": 4, "lost": 5, "disqualified": 6}
	dests := make([]string, 0, len(byDest))
	for d := range byDest {
		dests = append(dests, d)
	}
	sort.Strings(dests)
	for _, d := range dests {
		fmt.Fprintf(w, "\nactivation — %s: what reached it (value in %s)\n", d, currency)
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "stage\tevents\treached\tvalue reached\tnot reached, why")
		stages := make([]string, 0, len(byDest[d]))
		for s := range byDest[d] {
			stages = append(stages, s)
		}
		sort.Slice(stages, func(i, j int) bool { return stageOrder[stages[i]] < stageOrder[stages[j]] })
		for _, s := range stages {
			c := byDest[d][s]
			var why []string
			for st, n := range c.missed {
				why = append(why, fmt.Sprintf("%s %d", st, n))
			}
			sort.Strings(why)
			fmt.Fprintf(tw, "%s\t%d\t%d\t%.0f\t%s\n", s, c.events, c.reached, c.value, strings.Join(why, ", "))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	return nil
}
