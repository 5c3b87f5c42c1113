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
