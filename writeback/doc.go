// Package writeback owns SAM's writer to GA4: it reads the writeback_queue
// model through warehouse.Warehouse, turns each row into a Measurement
// Protocol event (qualify_lead, disqualify_lead, close_convert_lead,
// close_unconvert_lead), refuses anything GA4 would reject or that looks like
// personal data, sends one request per client id with at most 25 events,
// and records every idempotency key in the send log table
// raw_writeback__send_log so that a rerun never sends an event twice.
//
// It imports the warehouse interface, internal/option and internal/retry,
// nothing else of SAM's; jobs import it. Engines are the caller's choice.
//
// # Modes
//
//   - send: POST {endpoint}/mp/collect. Production answers 2xx even to
//     invalid payloads, which is why the payload guard runs first.
//   - validate: POST {endpoint}/debug/mp/collect; Run fails on any
//     validationMessage. Nothing is logged as sent (the validation server
//     does not record events).
//   - dry-run: print the payloads, send nothing, log nothing.
//   - local: like send, to Options.LocalEndpoint (internal/ga4sink).
//   - off: Run does nothing.
//
// The EU endpoint is selected by the endpoint setting
// (Destination.Endpoint); the api_secret travels only in the request
// URL. Every URL that reaches a log line or an error is redacted, including
// the URL net/http puts into its own errors.
//
// # Send log and the crash window
//
// Measurement Protocol has no idempotency of its own: an event received twice
// is counted twice, and for close_convert_lead that doubles revenue. So the
// writer is at-most-once, and the send log makes the uncertain cases
// visible instead of guessing. For each request the writer
//
//  1. appends an "intent" row for each of its events and waits until the
//     warehouse has it; the intents of a chunk of Options.IntentAhead
//     requests are committed in one write while the previous chunk is
//     being sent, because each durable commit costs milliseconds (DuckDB
//     syncs its WAL) or a load job (BigQuery, with a daily quota),
//  2. sends the request, within the rate limit (see "What is retried"),
//  3. appends the outcome: "sent" (2xx), "failed" (a definite refusal: a
//     4xx, or a 429 or unreached server after the last attempt; eligible
//     again next run) or "unknown" (the server may have read the request:
//     a timeout, a connection broken after it was had, a 5xx).
//
// A key is blocked for good once it has a "sent" row, and blocked while it
// has more "intent" rows than "failed" and "released" rows together. The
// crash window is therefore exactly the set of keys whose intent is
// committed but whose outcome is not: a process killed between steps 1 and
// 3, or an "unknown" outcome. Such keys are never resent automatically: GA4
// may or may not have them, and a duplicate revenue event is worse than a
// missing one that is reported by key. Run reports them in
// Report.CrashWindow on every run until an operator, having checked GA4
// (DebugView or the BigQuery export's sam_event_key parameter), calls
// Release for the keys GA4 does not have; the next run then sends those.
//
// A run that leaves unknown outcomes fails with an UnknownOutcomeError
// naming their number and the command that releases them
// (`sam writeback --release KEY,...`), so `sam run` exits non-zero.
//
// # What is retried
//
// A request is sent again only while every attempt so far provably did not
// reach GA4, because a request the server read may have been recorded and
// would be recorded twice:
//
//   - no connection was had: DNS failure, a refused or failed dial, a
//     failed TLS handshake (Go's transport reports these before it writes
//     anything; it already resends by itself a request it wrote nothing of
//     on a reused connection);
//   - HTTP 429: GA4 refused the request without processing it; its
//     Retry-After is honoured up to Options.RetryMax.
//
// These are retried up to Options.MaxAttempts with decorrelated jitter
// (internal/retry). A timeout, a reset or EOF after the connection was had,
// or a 5xx (the server read the body and failed somewhere) ends the request
// at once as "unknown".
//
// The window is kept narrow: outcome rows ride along with the next intent
// write (or are written on their own once LogGroupRows are pending, and at
// the end of the run); log writes ignore the run context's cancellation, so
// a stopped run (SIGTERM) still records what it sent; and requests a
// stopping run never made are logged "failed", so after a graceful stop
// only the requests in flight (at most Concurrency) are in doubt. When the
// process is killed, the window holds the chunks whose intents are
// committed but not all sent (the one being sent, one queued, one whose
// intents were just written: 3 × IntentAhead requests of up to 25 events)
// plus the outcomes not yet written (fewer than LogGroupRows waiting and at
// most one such group being written): with the defaults,
// 3 × 40 × 25 + 2 × 1,000 = 5,000 events at worst, in practice one or two
// chunks. Keys in it that GA4 never received are reported, not lost
// silently; Options.IntentAhead and LogGroupRows trade the window's width
// against throughput and the number of warehouse writes.
//
// Reading the queue, committing intents and sending form a pipeline, so
// the durable commits overlap the requests; with the default settings the
// writer runs close to the rate limit (see BenchmarkRunLocal100kDefaultRate).
package writeback
