// Package transform owns SAM's SQL model runner: it loads the models, custom
// data tests and seeds laid out as sql/CONVENTIONS.md describes, builds their
// dependency graph from the ref and source calls in the templates, renders
// them for an engine's dialect, and builds them into the warehouse with
// versioning, incremental partitions, atomic publishing and data tests.
//
// It imports the warehouse interface, warehouse/systables (where the state
// table is declared) and attribution (the arithmetic of the built-in Go
// models, gomodel.go) only; engines (DuckDB, BigQuery) are passed in by the
// caller and appear here only in tests.
//
// A model with materialized: go is computed in Go from its query's rows
// and published with a Replace load (see GoModel and sql/CONVENTIONS.md).
//
// # Use
//
//	p, err := transform.LoadProject(transform.ProjectFS(sqlmodels.FS, os.Getenv("SAM_MODELS_DIR")))
//	r := &transform.Runner{WH: wh, Project: p, Vars: vars, Parallelism: 4, Logger: log}
//	sel, err := transform.ParseSelection("stg_ga4__events+")  // "", "m", "m+", "+m", "+m+", comma lists
//	plan, err := r.Plan(ctx, sel, transform.BuildOptions{})    // what would rebuild and why, dry-run bytes
//	report, err := r.Build(ctx, sel, transform.BuildOptions{FullRefresh: false})
//	tests, err := r.Test(ctx, sel)                            // data tests only
//	tests, err = r.TestAfter(ctx, sel, report)                // those report's build did not run
//	sqlByModel, err := p.Compile(bigquery.Dialect{}, qualify, vars) // `sam compile`
//	incremental, err := p.CompileIncremental(bigquery.Dialect{}, qualify, vars, since) // the is_incremental branch
//
// Build and Test return a *RunError listing every failed model and test
// (with up to 10 offending rows per test) next to their full report.
//
// # Graph
//
// The template helpers (ref, source, event_param, var, incremental_filter,
// ...) are defined and documented in one place: helpers.go.
//
// A model is a file staging|intermediate|marts/**/NAME.sql; seeds are
// seeds/NAME.csv, loaded as the table seed_NAME and read with
// {{ ref "seed_NAME" }} (seeds are ordinary nodes of the graph, so there is
// one way to read a table); {{ source "x" "y" }} reads the loaders' raw table
// raw_x__y, an external node. Every ref and source in the template counts,
// whichever branch of an {{ if }} it sits in. Unknown refs, cycles (named in
// full), bad header YAML and template errors fail LoadProject with the file
// and line.
//
// # Versions and what rebuilds
//
// A model's version hashes its SQL as rendered for the engine's dialect with
// neutral table names (so it does not change with the project or dataset),
// the parts of its config that shape the table, and its upstream versions.
// The state table sam_model_state gets one row per model build: version,
// materialization, built_at, row_count, bytes_processed, run_id, the stamps
// of the inputs it read (JSON), the partitions an incremental build replaced
// and a hash of the model's own SQL and config (so a plan can say whether
// the model or something upstream changed). LoadState reads it.
//
// Seeds ship with the code, so a seed's content is part of the versions
// downstream of it: changing a seed (say, a channel mapping) rebuilds its
// readers in full, incremental ones included.
//
// A selected model rebuilds when it is new, on FullRefresh, when its
// materialization or version changed (so everything downstream of a changed
// model rebuilds), and — for tables and incremental models — when the data
// it reads changed: a source's fingerprint (row count and newest loaded_at,
// which the loaders stamp on every row they write; for a source without
// loaded_at, a hash of every row) or an upstream model that published new
// data. Views rebuild only on a version change, since
// they read live data. An incremental model whose version is unchanged
// processes only the partitions from (newest built partition − lookback_days)
// on: {{ incremental_filter "col" }} renders that bound, and exactly those
// partitions are deleted and re-inserted in one transaction; a query that
// returns rows older than the window fails the model rather than duplicate
// them. A full build of a model with full_build_window_days runs, on engines
// that work within one process's memory, its incremental query once per
// window of that many days (window.go). A model whose version and inputs are
// unchanged is skipped, unless its table has gone missing from the warehouse. A model that is not selected
// keeps its built state: downstream builds record the version they actually
// read, so they rebuild again once it is built.
//
// # Publishing
//
// See materialize.go: DuckDB tables are built under NAME__sam_tmp and
// renamed into place in the transaction that records the state row;
// BigQuery uses CREATE OR REPLACE TABLE, which is atomic. A model with
// deduplicate_by publishes the first row of each unique_key by that order:
// BigQuery removes the copies with a window in the query, DuckDB with a
// DELETE from the filled temporary table, before publishing
// (warehouse.Deduplicate and the dialect's DeleteCopies). Writes carry
// deterministic job ids (sam_<run>_<model>_<version prefix>_<step>), so a
// retried run with the same RunID does not run a step twice; every statement
// carries the labels sam_model and sam_run. One runner at a time should build
// a dataset: two would share the temporary tables.
//
// # Failures and tests
//
// Levels of the graph run in order, the models of a level in parallel (at
// most Parallelism at once). A failing model is reported with its file (and
// line, when the engine gives one); models downstream of it are not built
// and everything else completes. Header tests (not_null, unique,
// unique_combination, accepted_values, relationships, and unique_key as a
// unique_combination unless a one-column key is already declared unique
// and not_null) and the custom tests under tests/ run as soon as every
// model they read has been built; a model whose tests fail stays published
// but its downstream models are not built, as with a failed model. A
// cancelled context stops the run between levels. An error that leaves the
// warehouse unusable (warehouse.ErrUnusable: DuckDB after an internal or
// fatal error) stops the build at once: the model or test that hit it is
// the one failure reported, and every model not yet built is listed, once,
// as not attempted. Test (the test stage) stops the same way and names the
// tests it did not run.
package transform
