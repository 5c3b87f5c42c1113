// Package sqlmodels embeds SAM's SQL models into the binary: the staging,
// intermediate and marts models, the macros they call, the custom data tests
// and the seed CSV files, laid out as CONVENTIONS.md describes. The transform
// package reads FS (or a directory with the same layout named by
// SAM_MODELS_DIR); this package holds files only and imports nothing of
// SAM's.
package sqlmodels

import "embed"

// FS holds staging/, intermediate/, marts/, macros/, tests/ and seeds/. Each
// folder keeps a README.md so the embed patterns always match a file, even
// while a folder has no models yet.
//
//go:embed staging intermediate marts macros tests seeds
var FS embed.FS
