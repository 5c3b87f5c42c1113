package config

import (
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

// projectIDRE is a Google Cloud project id: 6 to 30 lowercase letters,
// digits and hyphens, starting with a letter and not ending with a hyphen,
// after a domain and a colon for a domain-scoped project
// (example.com:my-project). warehouse.ValidProjectID only keeps ids out of
// SQL, and took "-" or "my..project", which fail at the first job.
var projectIDRE = regexp.MustCompile(`^(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)+:)?[a-z][a-z0-9-]{4,28}[a-z0-9]$`)

func checkProjectID(v, value string) error {
	if !projectIDRE.MatchString(value) {
		return bad(v, value, "is not a Google Cloud project id (6 to 30 lowercase letters, digits and hyphens, starting with a letter, not ending with a hyphen; example.com:my-project for a domain-scoped one)")
	}
	return nil
}

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

// CheckFile reports a file that cannot be read (a key file, the rates the
// spend load replaces): missing, a folder, or without read permission.
func CheckFile(v, path string) error {
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

// checkNewFile checks a path where SAM creates or rewrites a file, creating
// the folders missing above it: a blank path, a directory, or a path under
// a file would fail only when the stage that writes it runs.
func checkNewFile(v, path string) error {
	if strings.TrimSpace(path) == "" {
		return bad(v, path, "is blank")
	}
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		return bad(v, path, "is a directory, not a file")
	}
	dir := filepath.Dir(path)
	for {
		if st, err := os.Stat(dir); err == nil {
			if !st.IsDir() {
				return bad(v, path, "cannot be created: %s is a file, not a directory", dir)
			}
			return nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return nil
		}
		dir = parent
	}
}
