// Package linkedin owns SAM's LinkedIn destination: stage events sent to
// LinkedIn's Conversions API (POST /rest/conversionEvents, BATCH_CREATE) as
// conversions of the rules the advertiser created for them. It implements
// activation.Destination: the payload, the client, the identifiers, the
// window, the consent rule and the dedup semantics.
//
// It imports the activation core, activation/identity, internal/retry,
// golang.org/x/time/rate and the standard library; only jobs (wiring) and
// tests import it. It never reads the environment: the CLI fills Options.
//
// # Stages and conversions
//
// LinkedIn counts conversions per conversion rule
// (urn:lla:llaPartnerConversion:{id}), so each positive funnel stage goes
// to the rule Options.Conversions names for it:
//
//	stage        conversion rule             value sent
//	lead         Conversions["lead"]         predicted value, if any
//	mql          Conversions["mql"]          predicted value, if any
//	sql          Conversions["sql"]          predicted value, if any
//	opportunity  Conversions["opportunity"]  predicted value, if any
//	won          Conversions["won"]          the deal's actual value
//
// lost and disqualified are not taken: a negative signal has no conversion
// rule to land in, and spam never reaches a positive stage. A taken stage
// without a configured rule is skipped as disabled, so coverage shows it.
// LinkedIn has no way to restate or retract a conversion already sent (the
// API creates events; there is no update), so a closing deal is its own
// conversion, won, with its real value; the earlier stages keep the
// predicted values they were sent with.
//
// # What Check decides, in this order
//
//  1. disabled: the stage has no conversion rule.
//  2. rejected by the payload guard: a reason outside the fixed vocabulary,
//     a hashed email that is not SHA-256 hex, a negative or non-finite
//     value, a value without an ISO 4217 currency, no event key or time,
//     an event time in the future.
//  3. no_consent: AdUserData or AdPersonalization denied (and, with
//     RequireConsent, AdUserData not recorded at all). LinkedIn's payload
//     has no consent field, so consent is enforced by not sending.
//  4. no_identifier: neither a SHA-256 email (SHA256_EMAIL) nor an li_fat_id
//     in UUID form (LINKEDIN_FIRST_PARTY_ADS_TRACKING_UUID). LinkedIn also
//     matches on userInfo (first and last name), which SAM never sends.
//  5. expired_window: the event happened more than 90 days ago. LinkedIn
//     rejects conversionHappenedAt older than that (Conversions API docs;
//     Salesforce Data Cloud's LinkedIn connector: "If you send data for an
//     event older than 90 days, it's automatically rejected"). The margin
//     Options.WindowMargin (1 hour) keeps an event that expires while it
//     waits in a batch from reaching LinkedIn only to be refused.
//
// # Nothing personal or free leaves
//
// A request carries only the conversion URN from Options, the event time in
// epoch milliseconds, the value as a decimal string with a currency that
// matches [A-Z]{3}, the hashed email if it is 64 lower-case hex digits, the
// li_fat_id if it is a UUID, and the eventId. The eventId is the SHA-256
// hex of the event key: deterministic, so the same key always deduplicates,
// exactly 64 characters (LinkedIn's eventId limit, per the Salesforce
// connector's field table), and opaque whatever the key was built from.
// Error details carry LinkedIn's status and code, and its message with
// anything that looks like an identifier removed; never the token.
//
// # Authentication
//
// With Options.AccessToken every request carries that token; LinkedIn's
// access tokens last 60 days, and then every request is refused with 401.
// With ClientID, ClientSecret and RefreshToken instead (LinkedIn's
// programmatic refresh tokens, which approved Marketing Developer Platform
// partners get; they last 365 days from the member's authorisation, and
// refreshing does not extend them), the destination exchanges the refresh
// token at TokenURL at the start of its first send, again within 5 minutes
// of the access token's expires_in, and once when a request is answered
// 401, after which it sends that request again: a 401 refuses a request
// whole. token.go gives the exchange's contract and its sources. A refresh
// token with under 30 days left is logged as a warning on each exchange. A
// refresh token LinkedIn refuses (invalid_grant) fails every event of the
// run without asking again, with a message naming the setting to renew
// (FieldNames); a network error or 5xx is retried under Options.Retry.
//
// # Dedup, retries and outcomes
//
// LinkedIn deduplicates events of a conversion rule on eventId (its
// "Deduplication" page describes the Insight Tag and Conversions API
// sharing an eventId). It publishes no window for that; DedupWindow is
// Options.DedupWindow, 48 hours by default, the figure tests/linkedinsim
// assumes and the one Meta documents for the same mechanism. Because the
// key is deduplicated, Send retries a request whose outcome is ambiguous
// with the same eventIds, and the runner re-sends an unknown key within the
// window. One request's answer maps to outcomes per event:
//
//	answer                                   outcome
//	element 201                              accepted
//	element 4xx (400, 422)                   rejected, with LinkedIn's code
//	element 5xx, after the retries           unknown (it may have taken effect)
//	429, after the retries                   failed, unless an earlier
//	                                         attempt may have arrived: unknown
//	5xx, reset or timeout after sending,
//	an unreadable 200, after the retries     unknown
//	401 (after one new token, if it renews),
//	403, other whole-request 4xx;
//	not sent at all (no connection, the
//	context ended before the request)        failed: sent again next run
//
// A 403's detail adds the Conversions API's two conditions, since
// LinkedIn's answer does not say which one failed: the scopes
// rw_conversions and r_ads, and a role of the authorizing member on the
// conversion rules' ad account that may send conversions.
//
// Retries go through internal/retry with decorrelated jitter; a 429 waits
// at least its Retry-After (LinkedIn sends none on its own throttling, so
// the backoff applies) and a DAY-limit throttle is not retried within the
// run. A client-side limiter (golang.org/x/time/rate) keeps requests at
// Options.RequestsPerSecond, by default LinkedIn's 600 requests a minute
// (the limit its partners document; LinkedIn shows an application's limits
// only in its developer portal). A batch holds up to 5,000 events, the
// BATCH_CREATE limit the same partners document.
//
// # Validate mode
//
// LinkedIn has no test or validate-only mode: every accepted event counts.
// With Options.ValidateOnly, Send builds and checks each request locally
// and sends nothing; every event comes back failed ("validate mode: not
// sent"), which keeps it due for the next real run instead of marking it
// done.
package linkedin
