{{- /*
The attribution models SAM computes, one row each in a column named model:
attribution_touchpoints credits every lead once per model, and
channel_performance, campaign_performance and the invariant data tests
report or check every model even where it credited nothing. A new model is
added here (and to attribution_touchpoints' credit rules and its
accepted_values test). It renders a query whose lines after the first are
indented for a CTE body two spaces deep.
*/ -}}
{{ define "attribution_models" -}}
select 'first_touch' as model
  union all select 'last_touch'
  union all select 'last_non_direct'
  union all select 'linear'
  union all select 'time_decay'
  union all select 'position_based'
  union all select 'markov'
  union all select 'w_shaped'
  union all select 'full_path'
  union all select 'shapley'
{{- end }}

{{- /*
attribution_stages: the funnel stages attribution_touchpoints credits, one
row each in a column named stage, in funnel order: a lead's creation, its
SQL, its opportunity and its won deal.
*/ -}}
{{ define "attribution_stages" -}}
select 'lead' as stage
  union all select 'sql'
  union all select 'opportunity'
  union all select 'won'
{{- end }}

{{- /*
touch_columns: what attribution_touchpoints carries of every touch of a
journey, in one order for each of its selects; for a select list four
spaces deep.
*/ -}}
{{ define "touch_columns" -}}
session_key,
    touch_at,
    channel,
    source,
    medium,
    campaign,
    is_lead_form_session,
    days_before_lead,
    touch_type
{{- end }}
