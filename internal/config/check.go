package config

import (
	"net/url"
	"strings"
	"time"
)

func checkURL(v, value string) error {
	u, err := url.Parse(value)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return bad(v, value, "must be an http(s) URL")
	}
	return nil
}

func checkDate(v, value string) error {
	if _, err := time.Parse("2006-01-02", value); err != nil {
		return bad(v, value, "must be a date YYYY-MM-DD")
	}
	return nil
}

func upper(s string) string { return strings.ToUpper(s) }
