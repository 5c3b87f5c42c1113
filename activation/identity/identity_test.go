package identity

import (
	"errors"
	"strings"
	"testing"
)

// Google publishes input/hash pairs in its official Data Manager client's
// tests (googleads/data-manager-python tests/formatter_test.py:
// test_process_email_address_valid_inputs_hex_encoding and
// test_process_phone_number_valid_inputs_hex_encoding).
func TestGooglePublishedHashes(t *testing.T) {
	const emailHash = "509e933019bb285a134a9334b8bb679dff79d0ce023d529af4bd744d47b4fd8a"
	for _, in := range []string{"alexz@example.com", "  alexz@example.com", "  ALEXZ@example.com   ", "  alexz@EXAMPLE.com   "} {
		got, err := HashGoogleEmail(in)
		if err != nil || got != emailHash {
			t.Errorf("HashGoogleEmail(%q) = %q, %v; want %s", in, got, err, emailHash)
		}
	}
	const phoneHash = "fb4f73a6ec5fdb7077d564cdd22c3554b43ce49168550c3b12c547b78c517b30"
	for _, in := range []string{"+18005550100", "   +1-800-555-0100", "1-800-555-0100   "} {
		got, err := HashGooglePhone(in)
		if err != nil || got != phoneHash {
			t.Errorf("HashGooglePhone(%q) = %q, %v; want %s", in, got, err, phoneHash)
		}
	}
}

// Normalisation examples from the Data Manager formatting guide and the
// official client's tests (same sources as above).
func TestGoogleEmailExamples(t *testing.T) {
	cases := []struct{ in, want string }{
		{"cloudy.sanfrancisco+shopping@gmail.com", "cloudysanfrancisco@gmail.com"},
		{"Cloudy.SanFrancisco+shopping@googlemail.com", "cloudysanfrancisco@googlemail.com"},
		{"user.name+NYC@Example.com", "user.name+nyc@example.com"},
		{"Jefferson.Loves.hiking@gmail.com", "jeffersonloveshiking@gmail.com"},
		{"QuinnY@EXAMPLE.com", "quinny@example.com"},
	}
	for _, c := range cases {
		if got, err := GoogleEmail(c.in); err != nil || got != c.want {
			t.Errorf("GoogleEmail(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
	for _, in := range []string{"", "  ", "quinn", " @googlemail.com", " ...@gmail.com", "a b@example.com", "a@b@c"} {
		if got, err := GoogleEmail(in); err == nil {
			t.Errorf("GoogleEmail(%q) = %q, want an error", in, got)
		}
	}
}

func TestGooglePhoneExamples(t *testing.T) {
	cases := []struct{ in, want string }{
		{"1 800 555 0100", "+18005550100"},
		{"+1 800-555-0100", "+18005550100"},
		{"441134960987", "+441134960987"},
		{"+44-113-496-0987", "+441134960987"},
	}
	for _, c := range cases {
		got, err := GooglePhone(c.in)
		if err != nil || got != c.want {
			t.Errorf("GooglePhone(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
	for _, in := range []string{"", " +A BCD EFG ", "0113 496 0987", "+1 23"} {
		if got, err := GooglePhone(in); err == nil {
			t.Errorf("GooglePhone(%q) = %q, want an error", in, got)
		}
	}
}

// Meta publishes normalised forms but no input/hash pair whose input is
// given (the em/ph hashes in its payload examples come without their
// clear values). The expected hashes below were computed with
// `printf %s 16505551212 | sha256sum` and
// `printf %s jsmith@example.com | sha256sum`.
func TestMetaExamples(t *testing.T) {
	phones := []struct{ in, want string }{
		{"16505551212", "16505551212"},
		{"+1 (650) 555-1212", "16505551212"},
		{"001 650 555 1212", "16505551212"},
		{"+44 113 496 0987", "441134960987"},
	}
	for _, c := range phones {
		if got, err := MetaPhone(c.in); err != nil || got != c.want {
			t.Errorf("MetaPhone(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
	if _, err := MetaPhone("0113 496 0987"); !errors.Is(err, ErrPhoneNoCC) {
		t.Errorf("MetaPhone(national number) err = %v, want ErrPhoneNoCC", err)
	}
	if got, _ := HashMetaPhone("+1 (650) 555-1212"); got != "e323ec626319ca94ee8bff2e4c87cf613be6ea19919ed1364124e16807ab3176" {
		t.Errorf("HashMetaPhone = %s", got)
	}
	if got, _ := HashMetaEmail("  JSmith@Example.com "); got != "6e3913852f512d76acff15d1e402c7502a5bbe6101745a7120a2a4833ebd2350" {
		t.Errorf("HashMetaEmail = %s", got)
	}
	// Meta has no Gmail rule: dots and +suffix stay.
	if got, _ := MetaEmail("Cloudy.SF+x@gmail.com"); got != "cloudy.sf+x@gmail.com" {
		t.Errorf("MetaEmail kept = %q", got)
	}
	if _, err := MetaEmail("user@localhost"); err == nil {
		t.Error("MetaEmail accepted a domain without a dot")
	}
}

func TestLinkedInEmail(t *testing.T) {
	got, err := HashLinkedInEmail(" User.Name+NYC@Example.com ")
	// printf %s user.name+nyc@example.com | sha256sum
	if err != nil || got != "f109a2a632fbcea5fc82049f50beed3d8621bf9034399f437fb622222acccdac" {
		t.Errorf("HashLinkedInEmail = %q, %v", got, err)
	}
}

func TestIsSHA256Hex(t *testing.T) {
	h := SHA256Hex("x")
	if !IsSHA256Hex(h) {
		t.Fatalf("IsSHA256Hex(%s) = false", h)
	}
	for _, s := range []string{"", strings.ToUpper(h), h[:63], h + "0", strings.Replace(h, h[:1], "g", 1), "jane@example.com"} {
		if IsSHA256Hex(s) {
			t.Errorf("IsSHA256Hex(%q) = true", s)
		}
	}
}

// Errors must never carry the personal value they refuse.
func TestErrorsHideValue(t *testing.T) {
	for _, f := range []func(string) (string, error){GoogleEmail, GooglePhone, MetaEmail, MetaPhone, LinkedInEmail} {
		_, err := f("secret value 0")
		if err != nil && strings.Contains(err.Error(), "secret") {
			t.Errorf("error %q leaks the value", err)
		}
	}
}
