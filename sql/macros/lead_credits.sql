{{- /*
The channel marts' view of attribution: every credit of touchpoints
(attribution_touchpoints), with the touch's channel and campaign, and the
facts of its lead (lead_revenue, fct_lead_revenue) they report by: creation,
stage dates, days to won and the spam flag. channel_performance,
campaign_performance and channel_cohorts read credits through it, so they
join the two alike. It renders a query whose lines after the first are
indented for a CTE body two spaces deep.
*/ -}}
{{ define "lead_credits" -}}
{{ params "touchpoints" "lead_revenue" -}}
select
    a.lead_id,
    a.model,
    a.channel,
    a.campaign,
    a.stage,
    a.credit,
    a.revenue_credit,
    a.stage_at,
    f.created_at,
    f.mql_at,
    f.opportunity_at,
    f.won_at,
    f.days_to_won,
    f.is_spam
  from {{ .touchpoints }} as a
  join {{ .lead_revenue }} as f on f.lead_id = a.lead_id
{{- end }}
