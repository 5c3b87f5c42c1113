// Package attribution_test checks the attribution models (the SQL under
// sql/ owned by the attribution work: spend and FX staging, the lead
// intermediates, fct_lead_revenue, attribution_touchpoints,
// channel_performance, channel_cohorts and their data tests) on DuckDB.
//
// The model tests build a small project: the real model files, plus
// pass-through models that stand in for the GA4 and CRM staging models and
// read fixture tables created here with the staging contract's columns
// (sql/CONVENTIONS.md), so every expectation is computed by hand from a few
// rows. The end-to-end test builds the real, whole project on generated
// sample data.
package attribution_test

import (
	"context"
	"database/sql"
	"io/fs"
	"path"
	"strings"
	"testing"
	"testing/fstest"

	sqlmodels "github.com/sam-attribution/sam/sql"
	"github.com/sam-attribution/sam/transform"
	"github.com/sam-attribution/sam/warehouse"
	"github.com/sam-attribution/sam/warehouse/duckdb"
)

// ownModels reports whether a file of sqlmodels.FS belongs to the
// attribution work (and so is exercised by these tests).
func ownModels(file string) bool {
	base := path.Base(file)
	switch {
	case strings.Contains(base, "account"):
		// Accounts read the CRM's account tables, which these fixtures do
		// not stand in for; the end-to-end runs build and test them.
		return false
	case file == "seeds/ga4_source_categories.csv", strings.HasPrefix(file, "seeds/channel_groups."), strings.HasPrefix(file, "macros/"):
		return true
	case strings.HasPrefix(file, "staging/stg_spend__"), strings.HasPrefix(file, "staging/stg_fx__"):
		return true
	case strings.HasPrefix(file, "intermediate/int_"):
		// int_lead_identity is a stand-in; int_client_ids_daily feeds only it.
		return base != "int_lead_identity.sql" && base != "int_client_ids_daily.sql"
	case strings.HasPrefix(file, "marts/"):
		return strings.HasSuffix(base, ".sql") && base != "writeback_queue.sql" && base != "activation_events.sql" && base != "activation_coverage.sql"
	case strings.HasPrefix(file, "tests/attribution_"), strings.HasPrefix(file, "tests/invariant_"):
		return true
	}
	return false
}

// stand-ins read fixture tables raw_fixture__<name> in place of the staging
// models other parts of SAM own.
var standIns = map[string]string{
	"staging/stg_ga4__sessions.sql":           "ga4_sessions",
	"staging/stg_ga4__lead_submissions.sql":   "ga4_lead_submissions",
	"staging/stg_crm__leads.sql":              "crm_leads",
	"staging/stg_crm__deals.sql":              "crm_deals",
	"staging/stg_crm__lead_stage_history.sql": "crm_stage_history",
	"staging/stg_crm__touches.sql":            "crm_touches",
	"intermediate/int_lead_identity.sql":      "lead_identity",
}

// fixtureDDL creates the fixture tables with the staging contract's columns.
const fixtureDDL = `
CREATE TABLE raw_fixture__ga4_sessions (session_key VARCHAR, client_key VARCHAR, user_id VARCHAR,
  session_start_ts TIMESTAMP, session_end_ts TIMESTAMP, session_date DATE, landing_page VARCHAR,
  is_engaged BOOLEAN, event_count BIGINT, page_views BIGINT, source VARCHAR, medium VARCHAR,
  campaign VARCHAR, gclid VARCHAR, channel VARCHAR, ga_session_id BIGINT);
CREATE TABLE raw_fixture__ga4_lead_submissions (submission_key VARCHAR, client_key VARCHAR,
  session_key VARCHAR, form_id VARCHAR, submitted_at TIMESTAMP, user_id VARCHAR, gclid VARCHAR);
CREATE TABLE raw_fixture__crm_leads (lead_id VARCHAR, source_system VARCHAR, created_at TIMESTAMP,
  updated_at TIMESTAMP, email_sha256 VARCHAR, ga_client_id VARCHAR, gclid VARCHAR, user_id VARCHAR,
  lifecycle_stage VARCHAR, mql_at TIMESTAMP, sql_at TIMESTAMP, opportunity_at TIMESTAMP,
  won_at TIMESTAMP, lost_at TIMESTAMP, disqualified_at TIMESTAMP, disqualification_reason VARCHAR,
  is_deleted BOOLEAN);
CREATE TABLE raw_fixture__crm_deals (deal_id VARCHAR, lead_id VARCHAR, created_at TIMESTAMP,
  closed_at TIMESTAMP, stage VARCHAR, is_won BOOLEAN, is_lost BOOLEAN, amount DECIMAL(38,9),
  currency VARCHAR, is_deleted BOOLEAN);
CREATE TABLE raw_fixture__crm_stage_history (lead_id VARCHAR, stage VARCHAR, entered_at TIMESTAMP);
CREATE TABLE raw_fixture__crm_touches (touch_id VARCHAR, source_system VARCHAR, lead_id VARCHAR,
  email_sha256 VARCHAR, touch_type VARCHAR, touched_at TIMESTAMP, channel VARCHAR, source VARCHAR,
  medium VARCHAR, campaign VARCHAR, status VARCHAR, is_deleted BOOLEAN);
CREATE TABLE raw_fixture__lead_identity (lead_id VARCHAR, client_key VARCHAR, link_type VARCHAR);
CREATE TABLE raw_spend__daily (spend_date DATE, source VARCHAR, medium VARCHAR, campaign VARCHAR,
  cost DECIMAL(38,9), currency VARCHAR, file VARCHAR, line BIGINT, loaded_at TIMESTAMP);
CREATE TABLE raw_fx__rates (rate_date DATE, from_currency VARCHAR, to_currency VARCHAR,
  rate DECIMAL(38,9), file VARCHAR, line BIGINT, loaded_at TIMESTAMP);
`

// testProject returns the attribution models with stand-ins for everything
// upstream of them.
func testProject(t testing.TB) *transform.Project {
	t.Helper()
	mfs := fstest.MapFS{}
	err := fs.WalkDir(sqlmodels.FS, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !ownModels(p) {
			return err
		}
		b, err := fs.ReadFile(sqlmodels.FS, p)
		if err != nil {
			return err
		}
		mfs[p] = &fstest.MapFile{Data: b}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for file, table := range standIns {
		columns := "*"
		if strings.HasPrefix(file, "staging/stg_crm__") && file != "staging/stg_crm__lead_stage_history.sql" {
			// Every CRM staging model says whether its record's latest
			// versions conflict; the fixtures' never do.
			columns = "*, false as version_conflict"
		}
		mfs[file] = &fstest.MapFile{Data: []byte(`select ` + columns + ` from {{ source "fixture" "` + table + `" }}`)}
	}
	p, err := transform.LoadProject(mfs)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

var testVars = transform.Vars{
	"attribution_window_days":   90,
	"time_decay_half_life_days": 7.0,
	"reporting_currency":        "USD",
	"prediction_maturity_days":  180,
	"prediction_prior_strength": 20.0,
}

// buildFixture creates the fixture tables in a fresh in-memory DuckDB, runs
// the inserts, builds the project (models and data tests) and returns the
// warehouse.
func buildFixture(t testing.TB, inserts string) *duckdb.DB {
	t.Helper()
	return buildFixtureVars(t, inserts, testVars)
}

// buildFixtureVars is buildFixture with other configuration values.
func buildFixtureVars(t testing.TB, inserts string, vars transform.Vars) *duckdb.DB {
	t.Helper()
	ctx := context.Background()
	wh, err := duckdb.Open(ctx, "", duckdb.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { wh.Close() })
	for _, stmt := range strings.Split(fixtureDDL+inserts, ";\n") {
		if strings.TrimSpace(stmt) == "" {
			continue
		}
		if _, err := wh.Exec(ctx, stmt); err != nil {
			t.Fatalf("fixture: %v\n%s", err, stmt)
		}
	}
	r := &transform.Runner{WH: wh, Project: testProject(t), Vars: vars}
	if _, err := r.Build(ctx, transform.Selection{}, transform.BuildOptions{}); err != nil {
		t.Fatalf("build: %v", err)
	}
	return wh
}

// query returns the rows of q as engine-neutral values.
func query(t testing.TB, wh warehouse.Warehouse, q string) [][]any {
	t.Helper()
	rows, err := wh.Query(context.Background(), q)
	if err != nil {
		t.Fatalf("%v\n%s", err, q)
	}
	out, err := warehouse.CollectRows(rows)
	if err != nil {
		t.Fatalf("%v\n%s", err, q)
	}
	return out
}

// credits returns model -> session key (or "Unattributed") -> credit for one
// lead and stage.
func credits(t testing.TB, wh warehouse.Warehouse, lead, stage string) map[string]map[string]float64 {
	t.Helper()
	out := map[string]map[string]float64{}
	for _, r := range query(t, wh, `select model, coalesce(session_key, channel), credit from attribution_touchpoints
		where lead_id = '`+lead+`' and stage = '`+stage+`'`) {
		m := r[0].(string)
		if out[m] == nil {
			out[m] = map[string]float64{}
		}
		out[m][r[1].(string)] = r[2].(float64)
	}
	return out
}

// nullString reads a nullable string column value.
func nullString(v any) sql.NullString {
	if v == nil {
		return sql.NullString{}
	}
	return sql.NullString{String: warehouse.Format(v), Valid: true}
}
