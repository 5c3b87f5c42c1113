package jobs

import (
	"context"
	"fmt"
	"strings"

	"github.com/sam-attribution/sam/loaders/crm"
	"github.com/sam-attribution/sam/transform"
)

// builtInRun passes the transform stage's report to the test stage of the
// same run.
type builtInRun struct{ report *transform.BuildReport }

// transformStage builds the selected models; built, when not nil, keeps the
// report for the run's test stage.
func (a *App) transformStage(sel transform.Selection, fullRefresh bool, built *builtInRun) StageFunc {
	return func(ctx context.Context, run *Run) (StageResult, error) {
		if err := crm.AddNewTables(ctx, a.WH); err != nil {
			return StageResult{}, err
		}
		rep, err := a.runner(run.ID).Build(ctx, sel, transform.BuildOptions{FullRefresh: fullRefresh})
		if built != nil {
			built.report = rep
		}
		return transformResult(rep), err
	}
}

// testStage runs the data tests of the selected models, except those the
// run's transform stage (built, when not nil) already ran.
func (a *App) testStage(sel transform.Selection, built *builtInRun) StageFunc {
	return func(ctx context.Context, run *Run) (StageResult, error) {
		var after *transform.BuildReport
		if built != nil {
			after = built.report
		}
		rep, err := a.runner(run.ID).TestAfter(ctx, sel, after)
		return testResult(rep), err
	}
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
		built, skipped, failed, passed, len(rep.Tests)) + warnedDetail(rep.Warned())
	return res
}

func testResult(rep *transform.TestReport) StageResult {
	if rep == nil {
		return StageResult{}
	}
	failed := len(rep.Failed())
	detail := fmt.Sprintf("tests passed %d of %d", len(rep.Tests)-failed-len(rep.Warned()), len(rep.Tests)) + warnedDetail(rep.Warned())
	if rep.AlreadyRun > 0 {
		detail += fmt.Sprintf("; %d more ran in the transform stage", rep.AlreadyRun)
	}
	if n := len(rep.NotAttempted); n > 0 {
		detail += fmt.Sprintf("; %d not attempted (the warehouse became unusable)", n)
	}
	if n := len(rep.UpstreamFailed); n > 0 {
		detail += fmt.Sprintf("; %d not run: the transform stage failed a model they read (%s)", n, strings.Join(rep.UpstreamFailed, ", "))
	}
	return StageResult{Rows: int64(len(rep.Tests)), Detail: detail}
}

// warnedDetail names the warn-severity tests that found rows: the run went
// on, and the log holds their rows.
func warnedDetail(w []transform.TestResult) string {
	if len(w) == 0 {
		return ""
	}
	names := make([]string, len(w))
	for i, t := range w {
		names[i] = t.Name
	}
	return fmt.Sprintf(", warned %d (%s; rows in the log)", len(w), strings.Join(names, ", "))
}
