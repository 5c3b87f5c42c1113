package bqfake

import (
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"time"

	bq "google.golang.org/api/bigquery/v2"
)

// params checks a query configuration's queryParameters as jobs.insert and
// jobs.query define them and decodes their values in order: nil (NULL),
// string, int64, float64, bool, time.Time (TIMESTAMP), []byte (BYTES), or
// the value's text for other scalar types (DATE, NUMERIC, ...). A NULL
// STRING and an empty string look alike on the wire once decoded into the
// REST types; both decode as "".
//
// parameterMode POSITIONAL (or unset, with no parameter named) binds the
// values to the ? placeholders in order; NAMED requires every parameter to
// carry a name. Mixing the two is an invalid request, as on BigQuery.
func params(cfg *bq.JobConfigurationQuery) ([]any, error) {
	if cfg == nil || len(cfg.QueryParameters) == 0 {
		return nil, nil
	}
	mode := strings.ToUpper(cfg.ParameterMode)
	switch mode {
	case "", "POSITIONAL", "NAMED":
	default:
		return nil, fmt.Errorf("invalid parameterMode %q (want POSITIONAL or NAMED)", cfg.ParameterMode)
	}
	out := make([]any, len(cfg.QueryParameters))
	for i, p := range cfg.QueryParameters {
		if p == nil {
			return nil, fmt.Errorf("query parameter %d is empty", i+1)
		}
		named := p.Name != ""
		switch {
		case mode == "NAMED" && !named:
			return nil, fmt.Errorf("query parameter %d has no name, but parameterMode is NAMED", i+1)
		case mode != "NAMED" && named:
			return nil, fmt.Errorf("query parameter %s is named, but parameterMode is POSITIONAL", p.Name)
		}
		if p.ParameterType == nil || p.ParameterType.Type == "" {
			return nil, fmt.Errorf("query parameter %d has no parameterType.type", i+1)
		}
		v, err := paramValue(p.ParameterType.Type, p.ParameterValue)
		if err != nil {
			return nil, fmt.Errorf("query parameter %d: %w", i+1, err)
		}
		out[i] = v
	}
	return out, nil
}

func paramValue(typ string, pv *bq.QueryParameterValue) (any, error) {
	if pv == nil {
		return nil, nil
	}
	s := pv.Value
	if s == "" && typ != "STRING" {
		return nil, nil
	}
	switch typ {
	case "STRING":
		return s, nil
	case "INT64", "INTEGER":
		return strconv.ParseInt(s, 10, 64)
	case "FLOAT64", "FLOAT":
		return strconv.ParseFloat(s, 64)
	case "BOOL", "BOOLEAN":
		return strconv.ParseBool(s)
	case "TIMESTAMP":
		for _, layout := range []string{"2006-01-02 15:04:05.999999-07:00", "2006-01-02 15:04:05.999999Z07:00", time.RFC3339Nano, "2006-01-02 15:04:05.999999"} {
			if t, err := time.Parse(layout, s); err == nil {
				return t.UTC(), nil
			}
		}
		return nil, fmt.Errorf("TIMESTAMP value %q is not a timestamp", s)
	case "BYTES":
		return base64.StdEncoding.DecodeString(s)
	case "ARRAY", "STRUCT", "RANGE":
		return nil, fmt.Errorf("the fake decodes scalar parameters only, not %s", typ)
	}
	return s, nil
}
