// Package onduckdb runs SAM's model fixtures (tests/bigquerysql/testdata/
// fixtures: input rows → expected rows) on the embedded DuckDB engine, the
// other half of the check whose BigQuery half evaluates the same files with
// ZetaSQL's reference implementation (tests/bigquerysql): a model must
// produce the expected rows on both engines.
//
// It holds only tests. They import the transform runner (to build the
// models on an empty database, which gives every table's DuckDB schema, and
// to render each model for DuckDB), the DuckDB engine, warehouse, and the
// fixture format of tests/bigquerysql; no ZetaSQL service is needed.
package onduckdb
