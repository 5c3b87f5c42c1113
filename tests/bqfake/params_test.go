package bqfake

import (
	"reflect"
	"testing"
	"time"

	bq "google.golang.org/api/bigquery/v2"
)

func TestParams(t *testing.T) {
	scalar := func(name, typ, v string) *bq.QueryParameter {
		return &bq.QueryParameter{Name: name, ParameterType: &bq.QueryParameterType{Type: typ}, ParameterValue: &bq.QueryParameterValue{Value: v}}
	}
	got, err := params(&bq.JobConfigurationQuery{ParameterMode: "POSITIONAL", QueryParameters: []*bq.QueryParameter{
		scalar("", "STRING", "it's"), scalar("", "INT64", "7"), scalar("", "FLOAT64", "2.5"), scalar("", "BOOL", "true"),
		scalar("", "TIMESTAMP", "2024-03-01 12:30:45.123456-00:00"), scalar("", "INT64", ""),
	}})
	if err != nil {
		t.Fatal(err)
	}
	want := []any{"it's", int64(7), 2.5, true, time.Date(2024, 3, 1, 12, 30, 45, 123456000, time.UTC), nil}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("params = %#v, want %#v", got, want)
	}
	for name, cfg := range map[string]*bq.JobConfigurationQuery{
		"named in positional mode": {ParameterMode: "POSITIONAL", QueryParameters: []*bq.QueryParameter{scalar("x", "STRING", "a")}},
		"unnamed in named mode":    {ParameterMode: "NAMED", QueryParameters: []*bq.QueryParameter{scalar("", "STRING", "a")}},
		"no type":                  {QueryParameters: []*bq.QueryParameter{{ParameterValue: &bq.QueryParameterValue{Value: "a"}}}},
		"bad mode":                 {ParameterMode: "BOTH", QueryParameters: []*bq.QueryParameter{scalar("", "STRING", "a")}},
		"bad int":                  {QueryParameters: []*bq.QueryParameter{scalar("", "INT64", "x")}},
	} {
		if _, err := params(cfg); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
