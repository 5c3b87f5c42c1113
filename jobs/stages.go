package jobs

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"

	"github.com/sam-attribution/sam/activation"
	"github.com/sam-attribution/sam/internal/config"
	"github.com/sam-attribution/sam/loaders"
	"github.com/sam-attribution/sam/loaders/crm"
	"github.com/sam-attribution/sam/transform"
)

// stages returns the named stages (all when only is empty), in pipeline
// order. Each stage's work lives in its own file.
func (a *App) stages(only []string) ([]Stage, error) {
	built := &builtInRun{}
	all := []Stage{
		{Name: StageLoadGA4, Func: a.loadGA4},
		{Name: StageLoadCRM, Func: a.loadCRM},
		{Name: StageLoadSpend, Func: a.loadSpend},
		{Name: StageTransform, Func: a.transformStage(transform.Selection{}, false, built)},
		{Name: StageTest, Func: a.testStage(transform.Selection{}, built), Despite: a.sparesActivation},
		{Name: StageWriteback, Func: a.writebackStage, Despite: a.sparesActivation},
	}
	if len(only) == 0 {
		return all, nil
	}
	want := map[string]bool{}
	for _, s := range only {
		want[s] = true
	}
	var out []Stage
	for _, s := range all {
		if want[s.Name] {
			out = append(out, s)
			delete(want, s.Name)
		}
	}
	if len(want) > 0 {
		var unknown []string
		for s := range want {
			unknown = append(unknown, s)
		}
		sort.Strings(unknown)
		return nil, fmt.Errorf("unknown stage(s) %s (stages: %s)", strings.Join(unknown, ", "), strings.Join(stageNames(all), ", "))
	}
	return out, nil
}

// sparesActivation reports whether failures are all transform or test
// failures that leave activation_events and what it is built from sound
// (transform.RunError.Spares: a dashboard mart), so the conversions can
// still go out: on the embedded engine no hourly writeback job would send
// them, and GA4 takes events no older than 72 hours.
func (a *App) sparesActivation(failures []error) bool {
	for _, err := range failures {
		var re *transform.RunError
		if !errors.As(err, &re) || errors.Is(err, ErrInterrupted) || !re.Spares(a.Project, activation.EventsTable) {
			return false
		}
	}
	return true
}

func stageNames(st []Stage) []string {
	out := make([]string, len(st))
	for i, s := range st {
		out[i] = s.Name
	}
	return out
}

func countsResult(c loaders.Counts, what string) StageResult {
	detail := fmt.Sprintf("%s: read %d, loaded %d, rejected %d", what, c.Read, c.Loaded, c.Rejected)
	if c.Rejected > 0 {
		detail += " (see " + loaders.RejectsTable + ")"
	}
	return StageResult{Rows: c.Loaded, BytesProcessed: c.Bytes, Detail: detail}
}

// StageNames lists every stage, in pipeline order.
func StageNames() []string {
	return []string{StageLoadGA4, StageLoadCRM, StageLoadSpend, StageTransform, StageTest, StageWriteback}
}

// CheckInputs reports, before any work, a folder or file the named stages
// would read that is not there: the GA4 export's on the embedded engine,
// the file CRM source's, the spend files' and the currency rates. The loaders themselves take a
// missing folder for an empty one, which would end a run in success with
// nothing loaded, or fail it after it started. It also reports export
// folders the GA4 loader would refuse (two holding one property).
func (s *Settings) CheckInputs(stages []string) error {
	for _, st := range stages {
		switch {
		case st == StageLoadGA4 && s.Warehouse.Engine != "bigquery":
			dirs := slices.DeleteFunc(append([]string{s.GA4.ExportDir}, s.GA4.ExportDirs...), func(d string) bool { return d == "" })
			if len(dirs) == 0 {
				return &ConfigError{Err: &config.VarError{Var: "GA4_EXPORT_DIR", Reason: "is empty: the GA4 export folder is not set"}}
			}
			for _, d := range dirs {
				if err := isDir("GA4_EXPORT_DIR", d); err != nil {
					return err
				}
			}
			if err := s.GA4.CheckExportFolders(); err != nil {
				return &ConfigError{Err: &config.VarError{Var: "GA4_EXPORT_DIR", Value: strings.Join(dirs, ","), Reason: err.Error()}}
			}
		case st == StageLoadCRM && s.CRM.Source == crm.SourceFile:
			if err := isDir("CRM_DIR", s.CRM.File.Dir); err != nil {
				return err
			}
		case st == StageLoadSpend && s.Task.first():
			if err := isDir("SPEND_DIR", s.Spend.Dir); err != nil {
				return err
			}
			// The load replaces the rates: a misspelt path would replace
			// them with none.
			if err := config.CheckFile("FX_RATES_FILE", s.Spend.FXRatesFile); err != nil {
				return &ConfigError{Err: err}
			}
		}
	}
	return nil
}

func isDir(v, path string) error {
	st, err := os.Stat(path)
	if err == nil && !st.IsDir() {
		err = errors.New("not a directory")
	}
	if err != nil {
		return &ConfigError{Err: &config.VarError{Var: v, Value: path, Reason: fmt.Sprintf("is not a readable directory (%v)", err)}}
	}
	return nil
}
