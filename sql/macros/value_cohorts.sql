{{- /*
Helpers of int_stage_value_cohorts, the predicted-value cohorts.

cohort_totals: the totals one cohort's estimate rests on, as select-list
items over fit_rows (leads, won, won_valued, revenue).

shrunk_estimate: a cohort's win rate and average won revenue, shrunk toward
the broader cohort's (prior) by prediction_prior_strength leads' worth of
weight: p = (won + k·p0)/(leads + k), avg = (revenue + k·avg0)/(won_valued + k).
*/ -}}
{{ define "cohort_totals" -}}
count(*) as leads,
    sum(won) as won,
    sum(won_valued) as won_valued,
    coalesce(sum(revenue), 0) as revenue
{{- end }}

{{ define "shrunk_estimate" -}}
{{ params "cohort" "prior" -}}
({{ .cohort }}.won + {{ var "prediction_prior_strength" }} * {{ .prior }}.p_won) / ({{ .cohort }}.leads + {{ var "prediction_prior_strength" }}) as p_won,
    ({{ .cohort }}.revenue + {{ var "prediction_prior_strength" }} * {{ .prior }}.avg_won_revenue)
      / ({{ .cohort }}.won_valued + {{ var "prediction_prior_strength" }}) as avg_won_revenue
{{- end }}
