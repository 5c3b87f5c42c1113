{{- /*
milestones_filled: how many W-shaped / full-path milestones the touch of m
fills (a touch may fill several): the first touch, and the touches at the
lead-creation, opportunity-creation and closed-won positions given ("null"
for a milestone the model or grain does not have).
*/ -}}
{{ define "milestones_filled" -}}
{{ params "m" "lead" "opportunity" "won" -}}
case when {{ .m }}.position = 1 then 1 else 0 end
      + case when {{ .m }}.position = {{ .lead }} then 1 else 0 end
      + case when {{ .m }}.position = {{ .opportunity }} then 1 else 0 end
      + case when {{ .m }}.position = {{ .won }} then 1 else 0 end
{{- end }}
