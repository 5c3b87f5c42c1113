// Package bench holds the `make bench` driver (run.sh), which runs every
// benchmark in the tree, the embedded-pipeline scale series and the chaos
// runs and rewrites BENCHMARKS.md, and BenchmarkReadJSONDir, the DuckDB
// read_json baseline run.sh compares the scale series' load_ga4 stage with.
package bench
