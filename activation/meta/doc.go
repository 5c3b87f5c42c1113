// Package meta owns SAM's Meta destination: the Conversions API as the
// "Conversions API for CRM" (Conversion Leads) integration uses it,
// POST {base}/{version}/{dataset id}/events. It turns activation events
// into Meta's CRM payload, decides which events Meta may receive, sends
// them under a client-side rate limit with retries, and maps Meta's answer
// to one activation.Outcome per event.
//
// It imports the activation core (events, decisions, outcomes), the
// identity package (the SHA-256 hex check) and internal/retry; jobs wires
// it into the runner. It reads no environment: the CLI maps its SAM_
// variables onto Options.
//
// # Stages and event names
//
// Meta takes the positive funnel stages, each as the event_name the
// advertiser configured for it in Options.EventNames (Meta's event_name is
// a free-form stage name; DefaultEventNames follows the examples of Meta's
// payload specification):
//
//	SAM stage     default event_name
//	lead          Lead
//	mql           Marketing Qualified Lead
//	sql           Sales Qualified Lead
//	opportunity   Sales Opportunity
//	won           Converted
//
// lost and disqualified are not taken at all (Meta's Conversion Leads model
// learns from stages a lead reaches, and a reason would be free text). A
// taken stage without an event name is skipped as disabled, with the
// reason "no conversion configured for stage X".
//
// # Payload
//
// Every event carries action_source "system_generated",
// custom_data.event_source "crm" and custom_data.lead_event_source (the
// CRM's name), as the payload specification requires; user_data holds the
// Meta lead id (15 or 16 digits, not hashed) and/or em, the SHA-256 hex of
// the normalised email (identity.MetaEmail). event_time is the time the
// lead reached the stage, in Unix seconds.
//
// Values: custom_data.value and currency carry Event.Value, predicted for
// early stages and actual for won. Meta's Conversions API has no way to
// restate or retract an event already sent, so SAM does not try: the
// closing stage (won, "Converted") is its own event with the real value.
//
// Consent: Meta's payload has no consent fields (its data_processing_options
// are for US state privacy laws, not consent), so consent is enforced before
// sending: an event whose ad_user_data or ad_personalization consent is
// denied, or not a known value, is skipped as no_consent, and with
// Options.RequireConsent an unrecorded ad_user_data consent is too.
//
// Nothing else of the event leaves: not SAM's lead id, not the event key
// (event_id is derived from it, below), not the reason, not the web or
// other platforms' identifiers.
//
// # Windows
//
//   - Backfill: "The event_time can be up to 7 days before you send an event
//     to Facebook. If any event_time in data is greater than 7 days in the
//     past, we return an error for the entire request and process no events"
//     (Conversions API, server event parameters; the Conversion Leads FAQ
//     says the same: "You can backfill your data for up to 7 days in the
//     past"). Check skips an event older than 7 days less a one-hour margin
//     as expired_window (ReasonBackfill): the margin covers the time between
//     the decision and the request, since one late event would sink its whole
//     batch. Send checks again just before the request and answers failed
//     for an event past the hard 7 days, so the next run records it expired.
//   - Stage age: Meta's Conversion Leads FAQ asks that "the stage you want
//     to optimize for occurs within 28 days of leads being generated"; a
//     stage reached later does not teach the optimisation. Check skips such
//     events as expired_window (ReasonStageAge); Options.MaxStageAge changes
//     the 28 days, a negative value turns the check off.
//
// # Dedup and retries
//
// Meta deduplicates on event_name + event_id: "If we find a match between
// events sent within 48 hours of each other, we only consider the first
// one" (server event parameters, event_name). event_id is the SHA-256 hex
// (first 32 digits) of a SAM-specific prefix and the event key: the same
// for every attempt and every run, and free of whatever the key contains.
// So a request whose body may have reached Meta (reset, timeout, 5xx) is
// retried with the same ids, and the runner re-sends an open key while
// DedupWindow lasts: 47 hours, Meta's 48 less a margin for the time between
// the runner's decision and the request. Changing an event name between
// runs breaks dedup for open keys of that stage.
//
// # Outcomes
//
// Meta accepts or refuses a request whole: "If there is an error in the
// batch, the whole batch will be discarded" (Conversion Leads FAQ). So:
//
//   - 200: every event accepted (events_received must equal the batch).
//   - Invalid parameter (code 100) with more than one event: nothing was
//     processed; the batch is split in halves and each sent again, until the
//     events Meta refuses stand alone and are rejected, and the rest are
//     accepted. Check's guard keeps this rare.
//   - Throttled (HTTP 429, or Graph error codes 4, 17, 32, 613 and the
//     80000-80014 business use case limits; Graph API "Rate Limits" page):
//     not processed; retried after Retry-After or the
//     X-Business-Use-Case-Usage estimated_time_to_regain_access when given,
//     else after backoff; failed when the attempts run out.
//   - Access token or permission refused (codes 10, 102, 104, 190, 200-299;
//     and code 100 subcode 33, a dataset that does not exist or that the
//     token may not reach, which no event of the batch causes) or another
//     non-transient 4xx: failed at once, not retried.
//   - The request never written (connection refused, stopped before it
//     left): retried, failed when the attempts run out.
//   - 5xx, a transient Graph error, a reset or timeout after the request was
//     written, an unreadable answer: the request may have been processed;
//     retried (safe under dedup), unknown when the attempts run out.
//
// Any final outcome of rejected or failed that follows an attempt which may
// have been processed is reported unknown instead. Details name HTTP status,
// Graph error code and fbtrace_id, never the message text (it can echo the
// payload) and never the token, which travels only in the Authorization
// header.
//
// # Validation
//
// With Options.TestEventCode set, every request carries test_event_code:
// Meta validates the events and shows them in Test Events without any
// business effect. Outcomes are still "accepted", so a validation run must
// use a throwaway ledger.
package meta
