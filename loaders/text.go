package loaders

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// MaxRawText is how much of a rejected row the rejects table keeps.
const MaxRawText = 64 << 10

// CheckUTF8 reports the first byte of s that is not UTF-8: the warehouse
// refuses such text, so a line holding one is a reject, never loaded.
func CheckUTF8(s string) error {
	if utf8.ValidString(s) {
		return nil
	}
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size <= 1 {
			return fmt.Errorf("not UTF-8: byte 0x%02X at byte %d (save the export as UTF-8)", s[i], i+1)
		}
		i += size
	}
	return nil
}

// RawText is a rejected line as the rejects table can keep it: bytes that
// are not UTF-8, and NUL, which DuckDB cuts text at, written as \xNN, and
// cut at MaxRawText.
func RawText(s string) string {
	var b strings.Builder
	i := 0
	for i < len(s) && b.Len() < MaxRawText {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size <= 1 || r == 0 {
			fmt.Fprintf(&b, `\x%02X`, s[i])
		} else {
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	if i < len(s) {
		b.WriteString("…")
	}
	if b.Len() == 0 {
		return " "
	}
	return b.String()
}
