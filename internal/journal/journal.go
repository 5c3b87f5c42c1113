// Package journal owns the append-only files of JSON lines in which the
// local stand-ins for vendors (the GA4 sink, the destination simulators)
// keep what they received, so that a second process sees what the first
// was sent: reading one back, a torn last line cut off, and appending to
// it. It imports the standard library only.
package journal

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
)

// Journal is a file of JSON lines open for appending. The methods of a nil
// Journal do nothing: a stand-in given no file keeps what it received in
// memory only.
type Journal struct {
	f *os.File
	w *bufio.Writer
}

// Open reads back the lines an earlier process wrote to path, giving each
// that is not blank to each with its line number, and opens path for
// appending. A torn last line (no newline: the writer died mid-write) is
// cut off so appends start clean; a complete line each refuses is
// corruption and an error. An empty path is no journal.
func Open(path string, each func(line int, b []byte) error) (*Journal, error) {
	if path == "" {
		return nil, nil
	}
	if err := read(path, each); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	return &Journal{f: f, w: bufio.NewWriter(f)}, nil
}

func read(path string, each func(line int, b []byte) error) error {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("reload %s: %w", path, err)
	}
	defer f.Close()
	r := bufio.NewReader(f)
	var good int64
	for line := 1; ; line++ {
		b, err := r.ReadBytes('\n')
		if errors.Is(err, io.EOF) {
			if len(b) > 0 {
				if err := os.Truncate(path, good); err != nil {
					return fmt.Errorf("cut the torn last line of %s: %w", path, err)
				}
			}
			return nil
		}
		if err != nil {
			return fmt.Errorf("reload %s: %w", path, err)
		}
		good += int64(len(b))
		if len(bytes.TrimSpace(b)) == 0 {
			continue
		}
		if err := each(line, b); err != nil {
			return fmt.Errorf("reload %s line %d: %w", path, line, err)
		}
	}
}

// Append buffers v as one line; Flush writes it out.
func (j *Journal) Append(v any) error {
	if j == nil {
		return nil
	}
	line, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = j.w.Write(append(line, '\n'))
	return err
}

// Flush writes out what Append buffered.
func (j *Journal) Flush() error {
	if j == nil {
		return nil
	}
	return j.w.Flush()
}

// Close flushes and closes the file.
func (j *Journal) Close() error {
	if j == nil {
		return nil
	}
	return errors.Join(j.w.Flush(), j.f.Close())
}
