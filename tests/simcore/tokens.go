package simcore

import "sync"

// TokenState is what a simulator knows of a bearer token.
type TokenState int

const (
	// TokenMissing: the request carries no token.
	TokenMissing TokenState = iota
	// TokenUnknown: a token the simulator was never given (AllowToken),
	// as the real service refuses one it did not issue.
	TokenUnknown
	// TokenRevoked: a token RevokeToken ended.
	TokenRevoked
	// TokenValid: a token AllowToken registered and nothing revoked.
	TokenValid
)

// Tokens is the set of bearer tokens a simulator honours. The zero value
// knows no token, so a simulator refuses every request until a test or
// tests/localsims registers the token its client sends: a simulator that
// took any token would be kinder than every vendor it stands for. It is
// safe for concurrent use.
type Tokens struct {
	mu      sync.Mutex
	allowed map[string]bool // token → still valid (false: revoked)
}

// AllowToken registers tok as a token the vendor issued (a Google access
// token, a Meta system-user token, …). A revoked token stays revoked: no
// vendor brings one back.
func (t *Tokens) AllowToken(tok string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.allowed == nil {
		t.allowed = map[string]bool{}
	}
	if _, seen := t.allowed[tok]; !seen {
		t.allowed[tok] = true
	}
}

// RevokeToken ends tok, registered or not: every request carrying it is
// refused from now on, as after an administrator revokes it or removes the
// account it belongs to.
func (t *Tokens) RevokeToken(tok string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.allowed == nil {
		t.allowed = map[string]bool{}
	}
	t.allowed[tok] = false
}

// TokenState says whether tok is missing, unknown, revoked or valid.
func (t *Tokens) TokenState(tok string) TokenState {
	if tok == "" {
		return TokenMissing
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	valid, seen := t.allowed[tok]
	switch {
	case !seen:
		return TokenUnknown
	case !valid:
		return TokenRevoked
	}
	return TokenValid
}
