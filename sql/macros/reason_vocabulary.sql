{{- /*
A disqualification reason mapped to the fixed vocabulary that may leave SAM
(activation.Reasons): spam, bot, duplicate, no_budget, no_fit, competitor,
other. The CRM's free text never does: a reason that names a person or an
address still becomes one of these words. NULL or empty text gives NULL.
*/ -}}
{{ define "reason_vocabulary" -}}
{{ params "reason" -}}
case
  when nullif(trim({{ .reason }}), '') is null then null
  when regexp_contains(lower({{ .reason }}), '(^|[^a-z])(bots?|automated|crawler|form_submitted_within)([^a-z]|$)') then 'bot'
  when regexp_contains(lower({{ .reason }}), '(^|[^a-z])(spam|fake|junk|test|fraud|invalid|gibberish|no_engaged_session)([^a-z]|$)') then 'spam'
  when regexp_contains(lower({{ .reason }}), 'dup') then 'duplicate'
  when regexp_contains(lower({{ .reason }}), 'budget|price|pricing|expensive|cost') then 'no_budget'
  when regexp_contains(lower({{ .reason }}), 'competitor|competition|went with|chose another') then 'competitor'
  when regexp_contains(lower({{ .reason }}), 'fit|size|small|too big|not interested|unqualified|wrong|student|job') then 'no_fit'
  else 'other'
end
{{- end }}
