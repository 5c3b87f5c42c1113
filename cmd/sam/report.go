package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/sam-attribution/sam/jobs"
	"github.com/sam-attribution/sam/report"
)

func cmdReport(ctx context.Context, e *env) error {
	fs := e.flags("report")
	out := fs.String("out", "report.html", "HTML file to write")
	model := fs.String("model", "last_non_direct", "attribution model of the headline charts")
	if err := e.parse(fs); err != nil {
		return err
	}
	app, err := e.open(ctx, nil)
	if err != nil {
		return err
	}
	defer app.Close()
	path, err := writeReport(ctx, app, *out, *model)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "report written to %s\n", path)
	return nil
}

func writeReport(ctx context.Context, app *jobs.App, out, model string) (string, error) {
	data, err := report.Load(ctx, app.WH, app.Settings.ReportingCurrency)
	if err != nil {
		return "", err
	}
	tmp := out + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return "", fmt.Errorf("write report: %w", err)
	}
	if err := report.Render(f, data, report.Options{FocusModel: model}); err != nil {
		f.Close()
		os.Remove(tmp)
		return "", fmt.Errorf("write report: %w", err)
	}
	if err := f.Close(); err != nil {
		return "", fmt.Errorf("write report: %w", err)
	}
	if err := os.Rename(tmp, out); err != nil {
		return "", fmt.Errorf("write report: %w", err)
	}
	abs, _ := filepath.Abs(out)
	return abs, nil
}
