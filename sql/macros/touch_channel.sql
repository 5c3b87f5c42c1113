{{- /*
The channel of a non-web touch (stg_crm__touches), the one place the mapping
lives: a channel the CRM or the offline touches file names wins; else a touch
that carries a source or medium goes through GA4's default channel group
(channel_group, as sessions and spend do); else its type names the channel.

Arguments are SQL expressions: the explicit channel (NULL when none), whether
the touch has a source or medium, source and medium lower-cased ('(not set)'
when none), campaign lower-cased ('' when none), source_category the seed's
category of the source, and the touch type. It renders an expression whose
lines after the first are indented for a select list four spaces deep.
*/ -}}
{{ define "touch_channel" -}}
{{ params "channel" "has_source" "source" "medium" "campaign" "source_category" "touch_type" -}}
coalesce(
      {{ .channel }},
      case when {{ .has_source }} then
        {{ macro "channel_group" .source .medium .campaign .source_category }}
      end,
      case {{ .touch_type }}
        when 'event' then 'Events'
        when 'webinar' then 'Webinars'
        when 'call' then 'Sales Calls'
        when 'meeting' then 'Sales Meetings'
        when 'direct_mail' then 'Direct Mail'
        else 'CRM Campaigns'
      end
    )
{{- end }}
