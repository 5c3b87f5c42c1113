// Package identity owns the normalisation and SHA-256 hashing of the personal
// identifiers (email, phone) that activation sends to ad platforms, each by
// the rules its vendor publishes, and the guard that tells a hashed value
// from a clear one. It imports only the standard library; every destination
// and every simulator check depends on it agreeing with the vendor, so each
// rule carries its source.
//
// Normalising functions return an error rather than a best guess: an
// identifier that does not fit the vendor's format is not sent at all,
// because a wrong hash matches nobody and a clear value must never leave.
package identity

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"unicode"
)

// Errors returned by the normalisers. They never include the value itself:
// it is personal data.
var (
	ErrEmpty         = errors.New("identity: value is empty")
	ErrEmailFormat   = errors.New("identity: email is not of the form local@domain")
	ErrEmailSpace    = errors.New("identity: email contains whitespace inside it")
	ErrPhoneNoDigits = errors.New("identity: phone number has no digits")
	ErrPhoneNoCC     = errors.New("identity: phone number has no country code")
	ErrPhoneLength   = errors.New("identity: phone number is not 8 to 15 digits with its country code")
)

// SHA256Hex is the lower-case hex SHA-256 of s, the encoding all three
// vendors accept (Google: "hex or Base64"; Meta and LinkedIn: hex).
func SHA256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// IsSHA256Hex reports whether s looks like SHA256Hex output: exactly 64
// lower-case hex digits. The payload guard uses it to check that a field
// meant to be hashed is not clear text.
func IsSHA256Hex(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// splitEmail trims, lower-cases and splits an address, rejecting inner
// whitespace and anything but exactly one '@' with both sides non-empty.
func splitEmail(raw string) (local, domain string, err error) {
	s := strings.TrimSpace(raw)
	if s == "" {
		return "", "", ErrEmpty
	}
	if strings.IndexFunc(s, unicode.IsSpace) >= 0 {
		return "", "", ErrEmailSpace
	}
	s = strings.ToLower(s)
	local, domain, ok := strings.Cut(s, "@")
	if !ok || local == "" || domain == "" || strings.Contains(domain, "@") {
		return "", "", ErrEmailFormat
	}
	return local, domain, nil
}

// GoogleEmail normalises an email address by the Data Manager API rules
// (developers.google.com/data-manager/api/devguides/concepts/formatting,
// "email_address"):
//   - trim leading and trailing whitespace; inner whitespace is an error
//     (the official Python client's format_email_address raises on it
//     rather than guessing);
//   - lower-case;
//   - for gmail.com and googlemail.com only: drop '+' and everything after it
//     in the local part, then remove every '.' from the local part;
//   - other domains keep their dots and '+suffix'.
//
// The page's example is cloudy.sanfrancisco+shopping@gmail.com →
// cloudysanfrancisco@gmail.com. googleads/data-manager-python's
// format_email_address (google/ads/datamanager_util/format.py, December
// 2025) removes the dots but keeps the '+suffix'; SAM follows the page,
// which is the contract Google matches against.
func GoogleEmail(raw string) (string, error) {
	local, domain, err := splitEmail(raw)
	if err != nil {
		return "", err
	}
	if domain == "gmail.com" || domain == "googlemail.com" {
		local, _, _ = strings.Cut(local, "+")
		local = strings.ReplaceAll(local, ".", "")
		if local == "" {
			return "", ErrEmailFormat
		}
	}
	return local + "@" + domain, nil
}

// GooglePhone normalises a phone number to E.164 as the Data Manager API
// asks ("Use the E.164 format. Include the plus sign (+) and the country
// code"; formatting guide, "phone_number"): every non-digit is dropped and a
// '+' put in front, as format_phone_number in the official Python client
// does. The caller must supply the country code; a number starting with 0
// is a national number and an error, since no country code can be inferred.
func GooglePhone(raw string) (string, error) {
	d, err := phoneDigits(raw)
	if err != nil {
		return "", err
	}
	return "+" + d, nil
}

// MetaEmail normalises an email address by Meta's rules for the Conversions
// API user_data.em ("Trim any leading and trailing white space. Convert all
// characters to lowercase"; developers.facebook.com/docs/marketing-api/
// conversions-api/parameters/customer-information-parameters; the Business
// SDK's Normalize.normalize_field("em") in facebook-python-business-sdk
// facebook_business/adobjects/serverside/normalize.py does the same and then
// validates the shape). Meta documents no Gmail-specific rule, so dots and
// '+suffix' are kept.
func MetaEmail(raw string) (string, error) {
	local, domain, err := splitEmail(raw)
	if err != nil {
		return "", err
	}
	if !strings.Contains(domain, ".") {
		// The SDK's pattern requires a dot in the domain.
		return "", ErrEmailFormat
	}
	return local + "@" + domain, nil
}

// MetaPhone normalises a phone number for user_data.ph: digits only, with
// the country code and without a leading '+' or leading zeros. Source: the
// Business SDK's Normalize.normalize_field("ph") (facebook-python-business-sdk,
// normalize.py) strips '+', spaces, '-', '(' and ')' and up to two leading
// zeros and refuses a number that still starts with 0; the customer
// information parameters page says the same in prose. Letters are dropped
// here too, which the SDK would keep: a number with letters is never valid.
func MetaPhone(raw string) (string, error) {
	return phoneDigits(raw)
}

// LinkedInEmail normalises an email address for the Conversions API
// SHA256_EMAIL user id: trimmed and lower-cased before hashing. LinkedIn's
// Conversions API page asks for the SHA-256 of the email in idValue; the
// trim and lower-case steps are the rule its partners apply (not found
// verbatim in LinkedIn's own text here), and they are the safe choice: a
// hash of a differently-cased address would match nobody.
func LinkedInEmail(raw string) (string, error) {
	local, domain, err := splitEmail(raw)
	if err != nil {
		return "", err
	}
	return local + "@" + domain, nil
}

// phoneDigits keeps the digits of an international number: an optional
// leading '+' or "00" international prefix is removed and what remains must
// not start with 0 (that would be a national trunk prefix, meaning the
// country code is missing). E.164 allows at most 15 digits; fewer than 8
// cannot hold a country code and a subscriber number.
func phoneDigits(raw string) (string, error) {
	s := strings.TrimSpace(raw)
	if s == "" {
		return "", ErrEmpty
	}
	var b strings.Builder
	for _, r := range s {
		if '0' <= r && r <= '9' {
			b.WriteRune(r)
		}
	}
	d := b.String()
	if d == "" {
		return "", ErrPhoneNoDigits
	}
	if !strings.HasPrefix(strings.TrimLeftFunc(s, unicode.IsSpace), "+") {
		d = strings.TrimPrefix(d, "00")
	}
	if strings.HasPrefix(d, "0") {
		return "", ErrPhoneNoCC
	}
	if len(d) < 8 || len(d) > 15 {
		return "", ErrPhoneLength
	}
	return d, nil
}

// HashGoogleEmail, HashGooglePhone, HashMetaEmail, HashMetaPhone and
// HashLinkedInEmail normalise and hash in one step.
func HashGoogleEmail(raw string) (string, error)   { return hashed(GoogleEmail(raw)) }
func HashGooglePhone(raw string) (string, error)   { return hashed(GooglePhone(raw)) }
func HashMetaEmail(raw string) (string, error)     { return hashed(MetaEmail(raw)) }
func HashMetaPhone(raw string) (string, error)     { return hashed(MetaPhone(raw)) }
func HashLinkedInEmail(raw string) (string, error) { return hashed(LinkedInEmail(raw)) }

func hashed(s string, err error) (string, error) {
	if err != nil {
		return "", err
	}
	return SHA256Hex(s), nil
}
