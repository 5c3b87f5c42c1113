// Package logging builds SAM's structured logger: JSON with Cloud Logging's
// field names (severity, message, time) when output is not a terminal, as on
// Cloud Run, and human-readable text on a terminal. It also says whether a
// person is watching, so long stages show progress only then. It imports no
// other SAM package.
package logging

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
)

// Options selects the format and level.
type Options struct {
	// Format is auto, json or text; auto picks text on a terminal.
	Format string
	// Level is debug, info, warn or error.
	Level string
}

// New returns a logger writing to w.
func New(w io.Writer, opts Options) (*slog.Logger, error) {
	var level slog.Level
	switch strings.ToLower(opts.Level) {
	case "", "info":
		level = slog.LevelInfo
	case "debug":
		level = slog.LevelDebug
	case "warn":
		level = slog.LevelWarn
	case "error":
		level = slog.LevelError
	default:
		return nil, fmt.Errorf("unknown log level %q", opts.Level)
	}
	format := opts.Format
	if format == "" || format == "auto" {
		format = "json"
		if IsTerminal(w) {
			format = "text"
		}
	}
	switch format {
	case "json":
		return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{
			Level:       level,
			ReplaceAttr: cloudLoggingAttr,
		})), nil
	case "text":
		return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level})), nil
	}
	return nil, fmt.Errorf("unknown log format %q", opts.Format)
}

// cloudLoggingAttr renames slog's built-in keys to the ones Cloud Logging
// reads from a container's JSON output, so levels show as severities. It
// writes durations as text ("522ms", as the text format does), where slog's
// JSON would write integer nanoseconds.
func cloudLoggingAttr(groups []string, a slog.Attr) slog.Attr {
	if a.Value.Kind() == slog.KindDuration {
		return slog.String(a.Key, a.Value.Duration().String())
	}
	if len(groups) > 0 {
		return a
	}
	switch a.Key {
	case slog.LevelKey:
		return slog.String("severity", severity(a.Value.Any()))
	case slog.MessageKey:
		return slog.Attr{Key: "message", Value: a.Value}
	}
	return a
}

func severity(v any) string {
	l, ok := v.(slog.Level)
	if !ok {
		return "DEFAULT"
	}
	switch {
	case l >= slog.LevelError:
		return "ERROR"
	case l >= slog.LevelWarn:
		return "WARNING"
	case l >= slog.LevelInfo:
		return "INFO"
	}
	return "DEBUG"
}

// IsTerminal reports whether w is a character device (a person watching).
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	if err != nil {
		return false
	}
	return st.Mode()&os.ModeCharDevice != 0
}
