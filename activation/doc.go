// Package activation owns the delivery of lead stage events to the
// destinations whose algorithms spend the budget: GA4 (Measurement
// Protocol), Google Ads (Data Manager API), Meta (Conversions API for CRM)
// and LinkedIn (Conversions API). Each destination lives in its own
// subpackage and implements Destination: its payload, its client, the
// identifiers it needs, its windows, its consent rules and its dedup
// semantics. This package holds what they share: the event, the ledger and
// the runner that drives a destination through it.
//
// It imports the warehouse interface (for the warehouse-backed ledger and
// event source); destinations import this package, never the reverse, and
// jobs wires them together.
//
// # The ledger
//
// One ledger, keyed by (destination, event key), records an intent before a
// request and the outcome after it. An event key names one stage event of
// one lead (the activation_events mart derives it from the lead, the stage
// and the stage's time), so every destination sees the same key and sends
// it as its dedup key where it has one. The rule is at most one business
// effect per key per destination:
//
//   - A key with an outcome of sent, accepted or rejected is done.
//   - A key whose request may have reached the server without an answer
//     (intent without outcome after a crash, or an "unknown" outcome) is in
//     the crash window. Where the destination does not deduplicate (GA4),
//     it is never re-sent blind: it is reported on every run, and the run
//     exits non-zero, until an operator releases it (`sam writeback
//     --release KEY,... --destination NAME`). Where the destination deduplicates on the key SAM sends
//     (Google Ads transactionId, Meta event_id, LinkedIn eventId), re-sending
//     the same key is safe while the destination's dedup window lasts, and
//     that is what the runner does; past the window the key waits for an
//     operator too.
//   - A "failed" outcome means the destination provably did not process the
//     request (it refused it before reading, or answered 429): the key is
//     sent again by the next run.
//   - A destination that fails, or leaves unanswered, 16 requests in a row
//     (each after all its attempts) is down or unreachable: the runner
//     sends it nothing more this run, and its remaining events, with no
//     ledger entry, wait for the next run. Otherwise an outage would cost
//     every request all its attempts, and a server that hangs would fill
//     the crash window. The run's error names the last failure, so that a
//     platform refusing the destination's credentials (a token revoked)
//     reads as that and not as an outage.
//   - Events a destination may not receive are recorded once per change
//     with the reason: expired_window, no_identifier, no_consent, disabled,
//     or rejected by SAM's own payload guard.
//   - One business effect per lead and stage event: an event whose lead and
//     stage reached the destination under another key (the CRM moved the
//     stage's time, and the key holds the time) is recorded as
//     already_delivered with that key, and not sent.
//
// # The crash window is the requests in flight
//
// Each sender commits the intent of its own request, sends it, and commits
// the outcome before it sends the next request; when the next request is
// already waiting, its intent rides in the same write as the outcome.
// Commits of all senders are grouped into one warehouse write (group
// commit), so throughput does not pay one write per request. A kill -9
// therefore leaves at most Concurrency requests (Concurrency × MaxBatch
// events) in the crash window: with the defaults, 8 GA4 requests of at most
// 25 events, 200 events. A stop (SIGTERM) starts no new request and gives
// the ones under way each destination's stop grace to answer (5 s by
// default, of the 10 s Cloud Run leaves before SIGKILL), so their outcomes
// are known and written.
//
// Which destination deduplicates:
//
//	destination   dedup key sent            ambiguous outcome
//	ga4           none                      unknown until released
//	google_ads    transactionId             re-sent with the same key
//	meta          event_id (+ event_name)   re-sent with the same key within Meta's window
//	linkedin      eventId                   re-sent with the same key
package activation
