package config

import (
	"errors"
	"net/url"
	"os"
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

// checkBaseURL checks a URL to which SAM appends a path of its own: scheme
// and host only, so the path SAM appends is the one that reaches the server.
func checkBaseURL(v, value string) error {
	if err := checkURL(v, value); err != nil {
		return err
	}
	u, _ := url.Parse(value)
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.ForceQuery || u.Fragment != "" {
		return bad(v, value, "must be a base URL, scheme and host only (such as %s://%s): SAM appends the path itself", u.Scheme, u.Host)
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

// checkFile reports a file that cannot be read (a key file): missing, a
// folder, or without read permission.
func checkFile(v, path string) error {
	f, err := os.Open(path)
	if err == nil {
		var st os.FileInfo
		if st, err = f.Stat(); err == nil && st.IsDir() {
			err = errors.New("a directory")
		}
		f.Close()
	}
	if err != nil {
		return bad(v, path, "is not a readable file (%v)", err)
	}
	return nil
}
