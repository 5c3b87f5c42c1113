{{- /*
The funnel the performance marts report and their data tests check, said
once. funnel_facts: one row of the facts a model's credits must add up to
(leads, SQLs, opportunities, won deals, revenue) from lead_revenue
(fct_lead_revenue); a query for a CTE body two spaces deep.
*/ -}}
{{ define "funnel_facts" -}}
{{ params "lead_revenue" -}}
select
    count(*) as leads,
    sum(case when coalesce(sql_at, opportunity_at, won_at) is not null then 1 else 0 end) as sqls,
    sum(case when coalesce(opportunity_at, won_at) is not null then 1 else 0 end) as opportunities,
    sum(case when won_at is not null then 1 else 0 end) as won,
    coalesce(sum(revenue_reporting), 0) as revenue
  from {{ .lead_revenue }}
{{- end }}

{{- /*
funnel_sums: the sums of those funnel columns, for a select list four
spaces deep.
*/ -}}
{{ define "funnel_sums" -}}
sum(leads) as leads,
    sum(sqls) as sqls,
    sum(opportunities) as opportunities,
    sum(won) as won,
    sum(revenue) as revenue
{{- end }}

{{- /*
funnel_differs: a condition true when the funnel totals of actual differ
from those of facts (counts beyond 1e-6, revenue by a cent or more).
*/ -}}
{{ define "funnel_differs" -}}
{{ params "actual" "facts" -}}
abs({{ .actual }}.leads - {{ .facts }}.leads) > 1e-6
  or abs({{ .actual }}.sqls - {{ .facts }}.sqls) > 1e-6
  or abs({{ .actual }}.opportunities - {{ .facts }}.opportunities) > 1e-6
  or abs({{ .actual }}.won - {{ .facts }}.won) > 1e-6
  or abs({{ .actual }}.revenue - {{ .facts }}.revenue) >= 0.005
{{- end }}

{{- /*
performance_ratios: cost per lead and per SQL, CAC, ROAS and ROI from a
row's spend, leads, sqls, won and revenue, NULL when the denominator is 0;
for a top-level select list.
*/ -}}
{{ define "performance_ratios" -}}
case when leads > 0 then {{ safe_cast "spend" "FLOAT64" }} / leads end as cost_per_lead,
  case when sqls > 0 then {{ safe_cast "spend" "FLOAT64" }} / sqls end as cost_per_sql,
  case when won > 0 then {{ safe_cast "spend" "FLOAT64" }} / won end as cac,
  case when spend > 0 then {{ safe_cast "revenue" "FLOAT64" }} / {{ safe_cast "spend" "FLOAT64" }} end as roas,
  case when spend > 0 then {{ safe_cast "revenue - spend" "FLOAT64" }} / {{ safe_cast "spend" "FLOAT64" }} end as roi
{{- end }}

{{- /*
campaign_grain: the keys of campaign_performance from a row: the month of
day (a DATE expression), channel (an expression) and the normalised campaign
of the row's campaign column; for a select list four spaces deep.
*/ -}}
{{ define "campaign_grain" -}}
{{ params "day" "channel" -}}
{{ date_trunc .day "MONTH" }} as month,
    {{ .channel }} as channel,
    {{ macro "campaign_key" "campaign" }} as campaign
{{- end }}
