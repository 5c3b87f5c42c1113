// Package zetasql checks BigQuery SQL offline. It runs the ZetaSQL local
// service — Google's GoogleSQL analyzer and reference evaluator, shipped as a
// prebuilt gRPC server that tools/zetasql/install.sh puts in
// .tools/zetasql — and talks to it over gRPC:
//
//   - Server starts the service binary on a free loopback port and waits
//     until it answers gRPC calls; Close stops it.
//   - Client analyzes a statement (Analyze) or a script of statements
//     (AnalyzeScript) against a Catalog, returning the output columns or an
//     *AnalysisError carrying the analyzer's message and line:column, and
//     evaluates a query over table contents with ZetaSQL's reference
//     implementation (EvaluateQuery), returning typed rows; always with
//     BigQuery's language options.
//   - FindInstall locates what install.sh installed; the zetasqltest
//     subpackage starts one service per test binary and skips or fails
//     tests when it is missing (SAM_REQUIRE_ZETASQL=1).
//   - Catalog describes the tables a statement may read, by path
//     (project.dataset.table), including wildcard tables such as the GA4
//     export's events_* with its _TABLE_SUFFIX pseudo-column.
//
// The package may import the warehouse package (its Column and Type values
// describe schemas, so catalogs are built from the same values the loaders
// use), gRPC, protobuf and protocompile; nothing else of SAM. It is a test and
// tooling dependency, kept under tools/ beside its installer: production code
// does not run the analyzer and no production package may import it.
//
// # Dynamic messages instead of generated code
//
// The service's API is described by about thirty .proto files that ship
// with the binary. Generating Go code from them is awkward: two files share
// a base name in different folders, and the folders import each other, so
// one Go package per folder forms an import cycle. Instead the client
// compiles the installed .proto files at run time with protocompile, builds
// requests as dynamic messages (dynamicpb) and calls the service with
// grpc.ClientConn.Invoke, whose default codec marshals any proto.Message.
// Requests are written as plain Go maps and turned into messages with
// protojson, and responses are read back the same way into small Go structs
// holding only the fields SAM needs. That keeps the code independent of the
// generated-code layout and of proto versions the binary was built with:
// the protos always match the installed binary because they come from the
// same package.
//
// # Cost
//
// The service rebuilds the catalog it is sent on every call, so a call
// sends only the tables whose names the SQL mentions, and the analyzer
// prunes unused columns from the resolved AST, whose statement node is then
// read field by field through protoreflect rather than converted whole.
// A model analyzes in tens of milliseconds; starting the service takes
// about a second.
//
// # Language options
//
// BigQuery runs GoogleSQL in "external" product mode (no protos, no
// unsigned or 32-bit integer types, FLOAT64 rather than DOUBLE) with a set of
// language features. The analyzer is configured with an explicit allowlist of
// the features BigQuery supports (see bigQueryFeatures), rather than the
// service's "maximum features", which would accept syntax BigQuery rejects
// (lambdas, FLATTEN, bare array subscripts, nanosecond timestamps, ...). The
// builtin function catalog is built from the same options. Some functions
// ZetaSQL offers are still missing in BigQuery and the reverse; the analyzer
// catches the common class of mistakes (DuckDB-only functions, wrong
// argument types, misspelled columns), not every difference.
package zetasql
