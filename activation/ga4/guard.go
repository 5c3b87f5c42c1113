package ga4

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/sam-attribution/sam/internal/pii"
)

// Measurement Protocol limits (standard GA4 properties).
const (
	MaxEventsPerRequest = 25
	MaxParams           = 25
	MaxNameLen          = 40
	MaxValueLen         = 100
)

// ErrRefused marks an event the guard will not send.
var ErrRefused = errors.New("refused")

// validName reports whether name starts with a letter and holds only
// letters, digits and underscores (a loop: this runs for every parameter).
func validName(name string) bool {
	for i := 0; i < len(name); i++ {
		c := name[i]
		letter := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
		if !letter && (i == 0 || !(c >= '0' && c <= '9' || c == '_')) {
			return false
		}
	}
	return name != ""
}

// reservedEvents are names GA4 keeps for its own events.
var reservedEvents = map[string]bool{
	"ad_activeview": true, "ad_click": true, "ad_exposure": true, "ad_impression": true,
	"ad_query": true, "ad_reward": true, "adunit_exposure": true, "app_background": true,
	"app_clear_data": true, "app_exception": true, "app_install": true, "app_remove": true,
	"app_store_refund": true, "app_store_subscription_cancel": true,
	"app_store_subscription_convert": true, "app_store_subscription_renew": true,
	"app_update": true, "app_upgrade": true, "dynamic_link_app_open": true,
	"dynamic_link_app_update": true, "dynamic_link_first_open": true, "error": true,
	"first_open": true, "first_visit": true, "in_app_purchase": true,
	"notification_dismiss": true, "notification_foreground": true, "notification_open": true,
	"notification_receive": true, "os_update": true, "session_start": true,
	"session_start_with_rollout": true, "user_engagement": true,
}

var reservedParams = map[string]bool{"firebase_conversion": true}

var reservedPrefixes = []string{"google_", "ga_", "firebase_"}

func hasReservedPrefix(name string) (string, bool) {
	lower := strings.ToLower(name)
	for _, p := range reservedPrefixes {
		if strings.HasPrefix(lower, p) {
			return p, true
		}
	}
	return "", false
}

func checkName(kind, name string) error {
	switch {
	case name == "":
		return fmt.Errorf("%s name is empty", kind)
	case utf8.RuneCountInString(name) > MaxNameLen:
		return fmt.Errorf("%s name %q is longer than %d characters", kind, name, MaxNameLen)
	case !validName(name):
		return fmt.Errorf("%s name %q must start with a letter and hold only letters, digits and underscores", kind, name)
	}
	if p, ok := hasReservedPrefix(name); ok {
		return fmt.Errorf("%s name %q uses the reserved prefix %q", kind, name, p)
	}
	return nil
}

// CheckEvent refuses an event GA4 would drop or that carries personal data.
// Errors name the lead, never the offending value.
func CheckEvent(leadID string, e Event) error {
	refuse := func(format string, args ...any) error {
		return fmt.Errorf("lead %s: event %q: %s: %w", leadID, e.Name, fmt.Sprintf(format, args...), ErrRefused)
	}
	if err := checkName("event", e.Name); err != nil {
		return refuse("%v", err)
	}
	if reservedEvents[e.Name] {
		return refuse("event name is reserved by GA4")
	}
	if _, hasValue := e.Params["value"]; hasValue {
		if c, _ := e.Params["currency"].(string); len(c) != 3 {
			// GA4 drops revenue without an ISO 4217 currency.
			return refuse("value without a three-letter currency")
		}
	}
	if len(e.Params) > MaxParams {
		return refuse("%d parameters, at most %d allowed", len(e.Params), MaxParams)
	}
	for k, v := range e.Params {
		if err := checkName("parameter", k); err != nil {
			return refuse("%v", err)
		}
		if reservedParams[k] {
			return refuse("parameter name %q is reserved by GA4", k)
		}
		s, ok := v.(string)
		if !ok {
			continue
		}
		if !utf8.ValidString(s) {
			return refuse("parameter %q is not valid UTF-8", k)
		}
		if utf8.RuneCountInString(s) > MaxValueLen {
			return refuse("parameter %q value is longer than %d characters", k, MaxValueLen)
		}
		if re, ok := systemParams[k]; ok {
			// Values the writer makes itself (a hash, GA4's own session id):
			// their digits are not phone numbers, but their shape is checked.
			if !re.MatchString(s) {
				return refuse("parameter %q does not have the expected form", k)
			}
			continue
		}
		if what := pii.Kind(s); what != "" {
			return refuse("parameter %q looks like %s; GA4 must not receive personal data", k, what)
		}
	}
	return nil
}

// systemParams are the parameters whose values the writer generates, with
// the form each must have.
var systemParams = map[string]*regexp.Regexp{
	KeyParam:     regexp.MustCompile(`^[0-9a-f]{16,64}$`),
	"session_id": regexp.MustCompile(`^[0-9]{1,20}$`),
}

// CheckPayload checks a whole request: the client id and the event count.
// Events are checked one by one with CheckEvent before they are batched.
func CheckPayload(p Payload) error {
	if p.ClientID == "" {
		return fmt.Errorf("empty client id: %w", ErrRefused)
	}
	if !utf8.ValidString(p.ClientID) {
		return fmt.Errorf("client id is not valid UTF-8: %w", ErrRefused)
	}
	if strings.Contains(p.ClientID, "@") {
		return fmt.Errorf("client id looks like an email address: %w", ErrRefused)
	}
	if len(p.Events) == 0 || len(p.Events) > MaxEventsPerRequest {
		return fmt.Errorf("%d events in one request, want 1 to %d: %w", len(p.Events), MaxEventsPerRequest, ErrRefused)
	}
	return nil
}
