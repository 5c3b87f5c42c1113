package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/sam-attribution/sam/jobs"
	"github.com/sam-attribution/sam/report"
	"github.com/sam-attribution/sam/warehouse"
)

// reportRequest is what `sam report` was asked for.
type reportRequest struct {
	out, model, format string
	from, to           time.Time
}

func cmdReport(ctx context.Context, e *env) error {
	fs := e.flags("report")
	out := fs.String("out", "", "file to write (default report.html, report.json or report.csv; - for standard output)")
	model := fs.String("model", "last_non_direct", "attribution model of the headline and the per-channel charts")
	from := fs.String("from", "", "first month shown: YYYY-MM or YYYY-MM-DD (default: the first month of data)")
	to := fs.String("to", "", "last month shown: YYYY-MM or YYYY-MM-DD (default: the latest month)")
	format := fs.String("format", "html", "html, or json or csv: the data of every chart")
	if err := e.parse(fs); err != nil {
		return err
	}
	req := reportRequest{out: *out, model: *model, format: *format}
	var err error
	if req.from, err = parseMonth("from", *from); err != nil {
		return err
	}
	if req.to, err = parseMonth("to", *to); err != nil {
		return err
	}
	if !req.from.IsZero() && !req.to.IsZero() && req.to.Before(req.from) {
		return usageError{fmt.Errorf("--to %s is before --from %s", *to, *from)}
	}
	if !slices.Contains([]string{"html", "json", "csv"}, req.format) {
		return usageError{fmt.Errorf("--format %q: want html, json or csv", req.format)}
	}
	if req.out == "" {
		req.out = "report." + req.format
	}
	if st, err := os.Stat(req.out); err == nil && st.IsDir() {
		return usageError{fmt.Errorf("--out %s is a directory: name the file to write, e.g. %s", req.out, filepath.Join(req.out, "report."+req.format))}
	}
	app, err := e.open(ctx, nil)
	if err != nil {
		return err
	}
	defer app.Close()
	path, err := writeReport(ctx, app, req, e.stdout)
	if err != nil {
		return err
	}
	if path != "" {
		fmt.Fprintf(e.stdout, "report written to %s\n", path)
	}
	return nil
}

// parseMonth reads a --from or --to month; the day, if given, is ignored
// because the marts are monthly.
func parseMonth(flag, s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	for _, layout := range []string{"2006-01", time.DateOnly} {
		if t, err := time.Parse(layout, s); err == nil {
			return report.MonthStart(t), nil
		}
	}
	return time.Time{}, usageError{fmt.Errorf("--%s %q: want YYYY-MM or YYYY-MM-DD", flag, s)}
}

// writeReport writes the report (through a temporary file, so a failure
// leaves no half file) and returns its absolute path; with out "-" it
// writes to stdout and returns "".
func writeReport(ctx context.Context, app *jobs.App, req reportRequest, stdout io.Writer) (string, error) {
	data, err := report.Load(ctx, app.WH, app.Settings.ReportingCurrency)
	if errors.Is(err, warehouse.ErrNotFound) {
		return "", fmt.Errorf("%w (the marts are built by `sam transform` or `sam run`)", err)
	}
	if err != nil {
		return "", err
	}
	if models := data.Models(); len(models) > 0 && !slices.Contains(models, req.model) {
		return "", usageError{fmt.Errorf("--model %q: the warehouse has %s", req.model, strings.Join(models, ", "))}
	}
	months := data.MonthList()
	data = data.Between(req.from, req.to)
	if len(months) > 0 && len(data.MonthList()) == 0 {
		return "", usageError{fmt.Errorf("--from/--to hold no month of the data, which runs from %s to %s", months[0].Format("2006-01"), months[len(months)-1].Format("2006-01"))}
	}
	opts := report.Options{FocusModel: req.model}
	write := report.Render
	switch req.format {
	case "json":
		write = report.WriteJSON
	case "csv":
		write = report.WriteCSV
	}
	if req.out == "-" {
		return "", write(stdout, data, opts)
	}
	tmp := req.out + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return "", fmt.Errorf("write report: %w", err)
	}
	if err := write(f, data, opts); err != nil {
		f.Close()
		os.Remove(tmp)
		return "", fmt.Errorf("write report: %w", err)
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return "", fmt.Errorf("write report: %w", err)
	}
	if err := os.Rename(tmp, req.out); err != nil {
		os.Remove(tmp)
		return "", fmt.Errorf("write report: %w", err)
	}
	abs, _ := filepath.Abs(req.out)
	return abs, nil
}
