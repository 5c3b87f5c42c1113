package ga4sink

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"
)

// Limits the validation server enforces (GA4 collection limits for standard
// properties).
const (
	MaxEvents         = 25
	MaxParams         = 25
	MaxNameLen        = 40
	MaxParamValueLen  = 100
	maxUserIDLen      = 256
	maxRequestBodyLen = 130_000
)

// Validation codes the validation server uses.
const (
	CodeValueInvalid        = "VALUE_INVALID"
	CodeValueRequired       = "VALUE_REQUIRED"
	CodeNameInvalid         = "NAME_INVALID"
	CodeNameReserved        = "NAME_RESERVED"
	CodeValueOutOfBounds    = "VALUE_OUT_OF_BOUNDS"
	CodeExceededMaxEntities = "EXCEEDED_MAX_ENTITIES"
)

// ValidationMessage is one problem the validation server reports.
type ValidationMessage struct {
	FieldPath      string `json:"fieldPath"`
	Description    string `json:"description"`
	ValidationCode string `json:"validationCode"`
}

// ValidationResponse is the body of a /debug/mp/collect answer.
type ValidationResponse struct {
	ValidationMessages []ValidationMessage `json:"validationMessages"`
}

type payload struct {
	ClientID        string  `json:"client_id"`
	UserID          string  `json:"user_id,omitempty"`
	TimestampMicros int64   `json:"timestamp_micros,omitempty"`
	Events          []event `json:"events"`
}

type event struct {
	Name            string         `json:"name"`
	Params          map[string]any `json:"params,omitempty"`
	TimestampMicros int64          `json:"timestamp_micros,omitempty"`
}

var nameRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]*$`)

// reservedEvents are event names GA4 keeps for itself.
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

var reservedPrefixes = []string{"_", "google_", "ga_", "firebase_", "gtag."}

func reservedPrefix(name string) (string, bool) {
	for _, p := range reservedPrefixes {
		if strings.HasPrefix(strings.ToLower(name), p) {
			return p, true
		}
	}
	return "", false
}

// Validate checks a request body as the validation server does and returns
// its messages (none for a valid request).
func Validate(measurementID string, body []byte) []ValidationMessage {
	var msgs []ValidationMessage
	add := func(path, code, format string, args ...any) {
		msgs = append(msgs, ValidationMessage{FieldPath: path, Description: fmt.Sprintf(format, args...), ValidationCode: code})
	}
	if measurementID == "" {
		add("measurement_id", CodeValueRequired, "Measurement ID is required.")
	}
	if len(body) > maxRequestBodyLen {
		add("", CodeValueOutOfBounds, "Request body is %d bytes; the limit is %d.", len(body), maxRequestBodyLen)
	}
	var p payload
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&p); err != nil {
		add("", CodeValueInvalid, "Unable to parse the request body as JSON: %v.", err)
		return msgs
	}
	if p.ClientID == "" {
		add("client_id", CodeValueRequired, "client_id is required for web streams.")
	}
	if utf8.RuneCountInString(p.UserID) > maxUserIDLen {
		add("user_id", CodeValueOutOfBounds, "user_id is longer than %d characters.", maxUserIDLen)
	}
	if len(p.Events) == 0 {
		add("events", CodeValueRequired, "At least one event is required.")
	}
	if len(p.Events) > MaxEvents {
		add("events", CodeExceededMaxEntities, "A request may carry at most %d events; got %d.", MaxEvents, len(p.Events))
	}
	for i, e := range p.Events {
		msgs = append(msgs, validateEvent(i, e)...)
	}
	return msgs
}

func validateEvent(i int, e event) []ValidationMessage {
	var msgs []ValidationMessage
	path := fmt.Sprintf("events[%d]", i)
	add := func(field, code, format string, args ...any) {
		msgs = append(msgs, ValidationMessage{FieldPath: path + field, Description: fmt.Sprintf(format, args...), ValidationCode: code})
	}
	switch {
	case e.Name == "":
		add(".name", CodeValueRequired, "Event at index [%d] has no name.", i)
	case utf8.RuneCountInString(e.Name) > MaxNameLen:
		add(".name", CodeValueOutOfBounds, "Event name [%s] is longer than %d characters.", e.Name, MaxNameLen)
	case !nameRE.MatchString(e.Name):
		add(".name", CodeNameInvalid, "Event name [%s] must start with a letter and hold only letters, digits and underscores.", e.Name)
	case reservedEvents[e.Name]:
		add(".name", CodeNameReserved, "Event name [%s] is reserved.", e.Name)
	default:
		if p, ok := reservedPrefix(e.Name); ok {
			add(".name", CodeNameReserved, "Event name [%s] uses the reserved prefix [%s].", e.Name, p)
		}
	}
	if len(e.Params) > MaxParams {
		add(".params", CodeExceededMaxEntities, "Event [%s] has %d parameters; the limit is %d.", e.Name, len(e.Params), MaxParams)
	}
	for k, v := range e.Params {
		field := ".params." + k
		switch {
		case utf8.RuneCountInString(k) > MaxNameLen:
			add(field, CodeValueOutOfBounds, "Parameter name [%s] is longer than %d characters.", k, MaxNameLen)
		case !nameRE.MatchString(k):
			add(field, CodeNameInvalid, "Parameter name [%s] must start with a letter and hold only letters, digits and underscores.", k)
		case k == "firebase_conversion":
			add(field, CodeNameReserved, "Parameter name [%s] is reserved.", k)
		default:
			if p, ok := reservedPrefix(k); ok {
				add(field, CodeNameReserved, "Parameter name [%s] uses the reserved prefix [%s].", k, p)
			}
		}
		switch x := v.(type) {
		case string:
			if utf8.RuneCountInString(x) > MaxParamValueLen {
				add(field, CodeValueOutOfBounds, "Value of parameter [%s] is longer than %d characters.", k, MaxParamValueLen)
			}
		case map[string]any:
			add(field, CodeValueInvalid, "Parameter [%s] must be a string or a number.", k)
		}
	}
	if v, ok := e.Params["value"]; ok {
		if _, isNum := v.(float64); !isNum {
			if _, isNum := v.(json.Number); !isNum {
				add(".params.value", CodeValueInvalid, "Parameter [value] must be a number.")
			}
		}
		if _, ok := e.Params["currency"]; !ok {
			add(".params.currency", CodeValueRequired, "Parameter [currency] is required when [value] is set.")
		}
	}
	return msgs
}
