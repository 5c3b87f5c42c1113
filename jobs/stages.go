package jobs

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/sam-attribution/sam/loaders"
	"github.com/sam-attribution/sam/loaders/crm"
	"github.com/sam-attribution/sam/loaders/spend"
	"github.com/sam-attribution/sam/transform"
)

func countsResult(c loaders.Counts, what string) StageResult {
	return StageResult{
		Rows:           c.Loaded,
		BytesProcessed: c.Bytes,
		Detail:         fmt.Sprintf("%s: read %d, loaded %d, rejected %d", what, c.Read, c.Loaded, c.Rejected),
	}
}

func (a *App) loadCRM(ctx context.Context, run *Run) (StageResult, error) {
	client := &http.Client{Timeout: 2 * time.Minute}
	src, err := crm.NewSource(a.Cfg, client, run.Logger)
	if err != nil {
		return StageResult{}, err
	}
	counts, err := crm.Sync(ctx, a.WH, src, crm.Options{RunID: run.ID, Logger: run.Logger, Streams: a.crmStreams(src)})
	return countsResult(counts, "crm "+a.Cfg.CRM.Source), err
}

func (a *App) loadSpend(ctx context.Context, run *Run) (StageResult, error) {
	if a.shard().index > 0 {
		return StageResult{Detail: "spend is loaded by task 0"}, nil
	}
	counts, err := spend.Load(ctx, a.WH, a.Cfg.Spend, run.ID, run.Logger)
	return countsResult(counts, "spend"), err
}

func transformResult(rep *transform.BuildReport) StageResult {
	if rep == nil {
		return StageResult{}
	}
	var res StageResult
	built, skipped, failed := 0, 0, 0
	for _, m := range rep.Models {
		switch m.Status {
		case transform.StatusBuilt:
			built++
			res.Rows += m.Rows
			res.BytesProcessed += m.Bytes
		case transform.StatusFailed:
			failed++
		default:
			skipped++
		}
	}
	passed := 0
	for _, t := range rep.Tests {
		if t.Err == nil && t.Failures == 0 {
			passed++
		}
	}
	res.Detail = fmt.Sprintf("models built %d, unchanged or skipped %d, failed %d; tests passed %d of %d",
		built, skipped, failed, passed, len(rep.Tests))
	return res
}

func testResult(rep *transform.TestReport) StageResult {
	if rep == nil {
		return StageResult{}
	}
	failed := len(rep.Failed())
	return StageResult{Rows: int64(len(rep.Tests)), Detail: fmt.Sprintf("tests passed %d of %d", len(rep.Tests)-failed, len(rep.Tests))}
}

func (a *App) printSummary(rep Report) {
	w := a.opts.Stdout
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

// WritePlan prints a plan as a table.
func WritePlan(w io.Writer, p *transform.Plan) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "LEVEL\tMODEL\tMATERIALIZED\tACTION\tWHY\tESTIMATED BYTES")
	rebuild := 0
	for _, it := range p.Items {
		est := ""
		switch {
		case it.EstimateErr != "":
			est = "error: " + it.EstimateErr
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
