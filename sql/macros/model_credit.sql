{{- /*
A touch's credit under an attribution model: the rules of every model in
one place, for attribution_touchpoints and account_attribution_touchpoints.
n is a relation with position, touch_count, last_non_direct_position,
time_decay_credit, w_shaped_credit, full_path_credit, markov_weight and
markov_total, shapley_weight and shapley_total; model a model name
expression. A journey without Markov or Shapley weights takes linear credit.
*/ -}}
{{ define "model_credit" -}}
{{ params "n" "model" -}}
case {{ .model }}
      when 'first_touch' then case when {{ .n }}.position = 1 then 1.0 else 0.0 end
      when 'last_touch' then case when {{ .n }}.position = {{ .n }}.touch_count then 1.0 else 0.0 end
      when 'last_non_direct' then
        case when {{ .n }}.position = coalesce({{ .n }}.last_non_direct_position, {{ .n }}.touch_count) then 1.0 else 0.0 end
      when 'linear' then 1.0 / {{ .n }}.touch_count
      when 'time_decay' then {{ .n }}.time_decay_credit
      when 'position_based' then
        case
          when {{ .n }}.touch_count = 1 then 1.0
          when {{ .n }}.touch_count = 2 then 0.5
          when {{ .n }}.position = 1 or {{ .n }}.position = {{ .n }}.touch_count then 0.4
          else 0.2 / ({{ .n }}.touch_count - 2)
        end
      when 'w_shaped' then {{ .n }}.w_shaped_credit
      when 'full_path' then {{ .n }}.full_path_credit
      when 'markov' then
        -- a journey whose channels all have zero removal effect (possible
        -- only for stages no journey converts at) falls back to linear
        case
          when {{ .n }}.markov_total > 0 then coalesce({{ .n }}.markov_weight, 0) / {{ .n }}.markov_total
          else 1.0 / {{ .n }}.touch_count
        end
      when 'shapley' then
        -- a lead whose path has no credits at the stage (it has no pre-lead
        -- touches, or int_attribution_paths does not count the stage, as for
        -- opportunity) falls back to linear
        case
          when {{ .n }}.shapley_total > 0 then coalesce({{ .n }}.shapley_weight, 0) / {{ .n }}.shapley_total
          else 1.0 / {{ .n }}.touch_count
        end
    end
{{- end }}

{{- /*
credited: every touch of journeys (a relation with model_credit's columns)
once per attribution model, with its credit as FLOAT64 on both engines
(the rules mix DECIMAL literals in DuckDB).
*/ -}}
{{ define "credited" -}}
{{ params "journeys" -}}
select
    n.*,
    m.model,
    {{ safe_cast (macro "model_credit" "n" "m.model") "FLOAT64" }} as credit
  from {{ .journeys }} as n
  cross join ({{ macro "attribution_models" }}) as m
{{- end }}
