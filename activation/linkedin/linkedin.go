package linkedin

import (
	"math"
	"regexp"
	"slices"
	"strconv"
	"time"

	"golang.org/x/time/rate"

	"github.com/sam-attribution/sam/activation"
	"github.com/sam-attribution/sam/activation/identity"
)

// Destination sends stage events to LinkedIn's Conversions API. It is safe
// for concurrent use by the runner's senders.
type Destination struct {
	opts    Options
	urns    map[string]string // stage → conversion URN
	limiter *rate.Limiter
	tokens  *tokens
}

var _ activation.Destination = (*Destination)(nil)

// CloseIdleConnections closes the connections kept for later requests
// (activation.Runner calls it when the destination is done).
func (d *Destination) CloseIdleConnections() { d.opts.HTTPClient.CloseIdleConnections() }

// New validates opts and returns the destination.
func New(opts Options) (*Destination, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	opts = opts.withDefaults()
	d := &Destination{opts: opts, urns: map[string]string{}}
	for s, id := range opts.Conversions {
		d.urns[s], _ = conversionURN(id)
	}
	d.limiter = rate.NewLimiter(rate.Limit(opts.RequestsPerSecond), opts.Burst)
	d.tokens = newTokens(opts)
	return d, nil
}

// Name implements activation.Destination.
func (d *Destination) Name() string { return "linkedin" }

// DedupWindow implements activation.Destination.
func (d *Destination) DedupWindow() time.Duration { return d.opts.DedupWindow }

// Takes implements activation.Destination: the positive funnel stages.
func (d *Destination) Takes(stage string) bool { return slices.Contains(stages[:], stage) }

// BatchKey implements activation.Destination: a request may mix rules and
// people, so every event shares one key.
func (d *Destination) BatchKey(activation.Event) string { return "" }

// MaxBatch implements activation.Destination.
func (d *Destination) MaxBatch() int { return d.opts.MaxBatch }

// Check implements activation.Destination; the package doc gives the order
// of the decisions. Reasons are fixed phrases.
func (d *Destination) Check(e activation.Event, now time.Time) activation.Decision {
	if _, ok := d.urns[e.Stage]; !ok {
		if !d.Takes(e.Stage) {
			return activation.Skip(activation.StatusDisabled, "stage is not sent to LinkedIn")
		}
		return activation.Skip(activation.StatusDisabled, "no conversion configured for stage "+e.Stage)
	}
	if reason := guard(e); reason != "" {
		return activation.Skip(activation.StatusRejected, reason)
	}
	if e.EventAt.After(now) {
		return activation.Skip(activation.StatusRejected, "guard: event time is in the future")
	}
	if e.AdUserData == activation.ConsentDenied {
		return activation.Skip(activation.StatusNoConsent, "ad_user_data consent denied")
	}
	if e.AdPersonalization == activation.ConsentDenied {
		return activation.Skip(activation.StatusNoConsent, "ad_personalization consent denied")
	}
	if d.opts.RequireConsent && e.AdUserData != activation.ConsentGranted {
		return activation.Skip(activation.StatusNoConsent, "ad_user_data consent not recorded")
	}
	if len(userIDs(e)) == 0 {
		return activation.Skip(activation.StatusNoIdentifier, "no hashed email or li_fat_id")
	}
	if now.Sub(e.EventAt) > MaxEventAge-d.opts.WindowMargin {
		return activation.Skip(activation.StatusExpiredWindow, "older than LinkedIn's 90-day conversion window")
	}
	return activation.Decision{}
}

var (
	currencyRE = regexp.MustCompile(`^[A-Z]{3}$`)
	// li_fat_id is LinkedIn's "first party ads tracking UUID": only the
	// canonical UUID form is sent, so nothing else can pass for one.
	uuidRE = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
)

// guard is the payload guard: what must never go out, as a reason, or "".
func guard(e activation.Event) string {
	switch {
	case e.Key == "":
		return "guard: no event key"
	case !activation.ValidReason(e.Reason):
		return "guard: reason is not in the fixed vocabulary"
	case e.EmailSHA256 != "" && !identity.IsSHA256Hex(e.EmailSHA256):
		return "guard: hashed email is not SHA-256 hex"
	case math.IsNaN(e.Value) || math.IsInf(e.Value, 0) || e.Value < 0:
		return "guard: value is negative or not a number"
	case e.Value > 0 && !currencyRE.MatchString(e.Currency):
		return "guard: value without an ISO 4217 currency"
	case e.EventAt.IsZero():
		return "guard: no event time"
	}
	return ""
}

// Wire types of a BATCH_CREATE body (field names from LinkedIn's
// conversionEvents schema). userInfo is left out on purpose: it carries
// names in clear.
type (
	batchBody struct {
		Elements []element `json:"elements"`
	}
	element struct {
		Conversion           string  `json:"conversion"`
		ConversionHappenedAt int64   `json:"conversionHappenedAt"`
		ConversionValue      *amount `json:"conversionValue,omitempty"`
		User                 user    `json:"user"`
		EventID              string  `json:"eventId"`
	}
	amount struct {
		CurrencyCode string `json:"currencyCode"`
		Amount       string `json:"amount"`
	}
	user struct {
		UserIDs []userID `json:"userIds"`
	}
	userID struct {
		IDType  string `json:"idType"`
		IDValue string `json:"idValue"`
	}
)

// userIDs are the identifiers of e that may be sent.
func userIDs(e activation.Event) []userID {
	var ids []userID
	if identity.IsSHA256Hex(e.EmailSHA256) {
		ids = append(ids, userID{IDType: "SHA256_EMAIL", IDValue: e.EmailSHA256})
	}
	if uuidRE.MatchString(e.LiFatID) {
		ids = append(ids, userID{IDType: "LINKEDIN_FIRST_PARTY_ADS_TRACKING_UUID", IDValue: e.LiFatID})
	}
	return ids
}

// EventID is the eventId SAM sends for an event key.
func EventID(key string) string { return identity.SHA256Hex(key) }

// build turns a checked event into its element. It repeats the checks that
// shape the payload, so that an event Check never saw cannot leak.
func (d *Destination) build(e activation.Event, now time.Time) (element, activation.Decision) {
	if dec := d.Check(e, now); !dec.Send() {
		return element{}, dec
	}
	el := element{
		Conversion:           d.urns[e.Stage],
		ConversionHappenedAt: e.EventAt.UnixMilli(),
		User:                 user{UserIDs: userIDs(e)},
		EventID:              EventID(e.Key),
	}
	if e.Value > 0 {
		// Cents are as fine as any currency's conversions get.
		v := math.Round(e.Value*100) / 100
		el.ConversionValue = &amount{CurrencyCode: e.Currency, Amount: strconv.FormatFloat(v, 'f', -1, 64)}
	}
	return el, activation.Decision{}
}
