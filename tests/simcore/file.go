package simcore

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
)

// openFile reloads the records of an earlier process from path and opens it
// for appending. A torn last line (the process died mid-write) is cut off;
// a bad complete line is corruption and an error.
func (c *Core) openFile(path string) error {
	if path == "" {
		return nil
	}
	if err := c.reload(path); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("open %s: %w", path, err)
	}
	c.file, c.buf = f, bufio.NewWriter(f)
	return nil
}

func (c *Core) reload(path string) error {
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
		var rec Record
		if err := json.Unmarshal(b, &rec); err != nil {
			return fmt.Errorf("reload %s line %d: %w", path, line, err)
		}
		c.record(rec, false)
	}
}
