{{- /*
A state (channel, campaign, ...) escaped for a path string: % becomes %25 and
> becomes %3E, so " > " separates states whatever their names hold. The Go
models (transform/gomodel.go) undo it; keep the two in step.
*/ -}}
{{ define "path_state" -}}
{{ params "expr" -}}
replace(replace({{ .expr }}, '%', '%25'), '>', '%3E')
{{- end }}

{{- /*
touch_key: a touch's state at the data-driven models' grain (the var
markov_grain, default channel), the same in the paths they count
(int_attribution_paths) and in the touches attribution_touchpoints credits:
  - channel: the channel;
  - source_medium: "source / medium", (not set) for a missing part;
  - campaign: "channel / campaign", the campaign normalised by campaign_key
    so that spelling variants are one state; a touch without a campaign
    keeps its channel, so direct and organic traffic still count.
channel, source, medium and campaign are STRING expressions.
*/ -}}
{{ define "touch_key" -}}
{{ params "channel" "source" "medium" "campaign" -}}
case {{ var_or "markov_grain" "channel" }}
      when 'source_medium' then coalesce({{ .source }}, '(not set)') || ' / ' || coalesce({{ .medium }}, '(not set)')
      when 'campaign' then coalesce({{ .channel }} || ' / ' || {{ macro "campaign_key" .campaign }}, {{ .channel }})
      else {{ .channel }}
    end
{{- end }}
