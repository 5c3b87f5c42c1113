// Package models tests SAM's SQL models and macros (sql/) on their own:
// the macros on hand-written inputs, the GA4 staging models on generated
// exports. It imports the models, the transform runner, the loaders that
// write the raw tables, and DuckDB; nothing imports it. The attribution
// models' end-to-end tests live in tests/attribution.
package models
