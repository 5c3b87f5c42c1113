// Package googleads owns the Google Ads destination of the activation layer:
// lead stage events go to Google Ads as offline conversions (with enhanced
// conversions for leads) through the Data Manager API, with the official
// generated client google.golang.org/api/datamanager/v1. It defines the
// payload, the client settings (Options), the identifiers it takes, its
// windows, its consent rule and how an answer becomes one
// activation.Outcome per event.
//
// It imports the activation core, activation/identity and internal/retry;
// it never reads the environment (the CLI maps SAM_ variables onto
// Options) and nothing in SAM but jobs imports it.
//
// # Stages and conversion actions
//
// The destination takes the positive funnel stages only; lost and
// disqualified leads are not conversions and never reach Google Ads (spam
// and bot leads stop before lead-quality stages, so they are never sent as
// conversions either). Each stage goes to its own conversion action, named
// by its id in Options.ConversionActions:
//
//	stage         conversion action          value
//	lead          ConversionActions["lead"]         predicted
//	mql           ConversionActions["mql"]          predicted
//	sql           ConversionActions["sql"]          predicted
//	opportunity   ConversionActions["opportunity"]  predicted
//	won           ConversionActions["won"]          actual (revenue won)
//
// A stage without a conversion action is skipped as disabled with the
// reason "no conversion action configured for stage X". The value is
// Event.Value in Event.Currency; a value without a currency never leaves.
//
// Closing values: the Data Manager API documents conversion adjustments
// (restatement, retraction) inside events:ingest, but the client in go.mod
// (discovery revision 20260605) has no field for them and the simulator
// does not model them, so SAM does not restate: won is its own conversion
// action carrying the real value, and the earlier stages keep their
// predicted values.
//
// # Identifiers, consent and the payload guard
//
// An event needs a click id (gclid, else gbraid, else wbraid: one per
// conversion) or the SHA-256 of the email normalised by Google's rules
// (Event.EmailSHA256Google, sent as userData with encoding HEX). The
// generic Event.EmailSHA256 is never sent: for gmail.com addresses it is
// the hash of a different string. Without either the event is skipped as
// no_identifier.
//
// Consent travels on every event (Event.consent adUserData and
// adPersonalization). Ad user data consent must be granted: denied or not
// recorded is no_consent, and the event is not sent.
//
// Nothing but these leaves SAM: the event key as transactionId, the
// stage's conversion action, the event time, value and currency, click
// ids, the hashed email and consent. Each is checked for shape before a
// request (the key a hex fingerprint, click ids base64url, the hash
// SHA-256 hex, the currency ISO 4217), so free text placed in any field
// is refused by the guard (rejected) rather than sent.
//
// # Windows
//
// Google Ads accepts an imported conversion only within the conversion
// action's click-through window, at most 90 days after the click
// (ConversionUploadError.EXPIRED_EVENT), and refuses conversions older than
// its maximum age (PROCESSING_ERROR_REASON_EVENT_TOO_OLD; 90 days in the
// simulator). Check skips, as expired_window:
//   - "click-through window: conversion more than 90 days after the click"
//     (the window is Options.ClickThroughWindow, 90 days at most);
//   - "import window: conversion more than 90 days old".
//
// An event time in the future, or before its click, would fail the request
// or the event (EVENT_TIME_INVALID fails the whole request: fast fail), so
// the guard rejects it before sending.
//
// # Dedup, retries and outcomes
//
// Google Ads deduplicates on (conversion action, transactionId): a second
// arrival is PROCESSING_ERROR_REASON_DUPLICATE_TRANSACTION_ID and takes no
// effect. SAM sends the event key as transactionId, so re-sending a request
// whose answer was lost is safe: Send retries with internal/retry on a
// reset, a timeout, a 5xx or a 429 (honouring Retry-After when present), and
// the runner re-sends unknown keys within DedupWindow. Google documents no
// expiry for the transactionId; DedupWindow is 90 days because no
// conversion older than that can be imported at all.
//
// events:ingest answers only a requestId; per-event results come from
// requestStatus:retrieve, as counts per error reason for each destination
// (conversion action). Send polls it for up to Options.StatusWait and
// then, per stage group:
//   - SUCCESS, or errors that are all DUPLICATE_TRANSACTION_ID or
//     DUPLICATE_GCLID: accepted (a duplicate is an effect already in
//     Google Ads, most often of an earlier request of SAM's own);
//   - every event failed for reasons of its own: rejected, with the
//     reasons;
//   - some failed, or failed with INTERNAL_ERROR (Google's fault, not the
//     event's) or TOO_RECENT_CLICK (the click is under six hours old; the
//     next run sends the conversion again): Google does not say which
//     events. Send re-sends each half
//     of the group (a lone event: the event) with the same keys, which is
//     safe (effective ones come back as duplicates, refused ones are
//     refused again or now taken), until each part is settled, within
//     Options.MaxResolveRequests extra requests. What is still open then
//     is "failed" when nothing in it took effect (the next run sends it
//     again) and otherwise "sent", with the counts in the detail;
//   - no final status within StatusWait: "sent" (the request was accepted
//     for processing; Google reports no per-event result in time).
//
// A request refused before processing (400 fast fail, 401, 403, 404, or 429
// after the retries) is "failed" and sent again by the next run, except
// that events named by a 400's field violations are "rejected" and the
// rest of the batch is sent again at once. A 403 PERMISSION_DENIED means
// the credentials cannot write to the account (or it does not exist), and
// Google's answer names no account, so its detail names CustomerID, the
// LoginCustomerID logged in through, whose access is missing (the key
// file's service account, the Application Default Credentials' service
// account or user, or the access token's Google Account) and what to
// grant. A 403 of Google's API front end (ErrorInfo domain googleapis.com)
// comes before the service and names no account either: for
// ACCESS_TOKEN_SCOPE_INSUFFICIENT the detail says where the credentials
// get the datamanager scope, for SERVICE_DISABLED which project must
// enable the API, and for another reason which project it concerns. A
// request that may have been processed without a definite answer (a reset or timeout after the body
// was sent, or a 5xx, after the retries; or the context ending mid-request)
// is "unknown".
//
// In validate mode (Options.ValidateOnly) requests carry validateOnly:
// Google checks them and records nothing. Every event is then "failed"
// with the validation verdict as its detail, so that nothing in the ledger
// claims a delivery and the next real run sends the events.
//
// Details carry fixed phrases, HTTP status codes, Google's reason codes
// and the configured account ids; never a token, a message body or
// personal data.
package googleads
