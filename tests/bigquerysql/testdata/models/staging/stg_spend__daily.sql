/*
description: >
  Ad spend per (day, source, medium, campaign, currency) with its GA4 default
  channel group and the cost in the reporting currency. The rate is the
  nearest earlier rate of stg_fx__rates; a row without one keeps
  cost_reporting NULL and fx_missing = true, never zero, so missing rates
  show up instead of silently lowering spend.
materialized: table
tests:
  not_null: [spend_date, source, medium, channel, currency, cost, fx_missing]
  unique_combination: [[spend_date, source, medium, campaign, currency]]
*/
with spend as (
  select
    spend_date,
    lower(trim(source)) as source,
    lower(trim(medium)) as medium,
    nullif(trim(campaign), '') as campaign,
    upper(currency) as currency,
    sum(cost) as cost,
    count(*) as source_rows
  from `sam-proj.sam.raw_spend__daily`
  group by 1, 2, 3, 4, 5
),

categorised as (
  select
    s.*,
    c.source_category
  from spend as s
  left join `sam-proj.sam.seed_ga4_source_categories` as c
    on c.source = s.source
),

-- GA4's default channel group rules, evaluated in GA4's order. Paid media is
-- a medium matching ^(.*cp.*|ppc|retargeting|paid.*)$.
grouped as (
  select
    *,
    case
      when source = '(direct)' and (medium is null or medium in ('(none)', '(not set)')) then 'Direct'
      when regexp_contains(lower(coalesce(campaign, '')), 'cross-network') then 'Cross-network'
      when (source_category = 'SOURCE_CATEGORY_SHOPPING'
            or regexp_contains(lower(coalesce(campaign, '')), '^(.*(([^a-df-z]|^)shop|shopping).*)$'))
        and regexp_contains(medium, '^(.*cp.*|ppc|retargeting|paid.*)$') then 'Paid Shopping'
      when source_category = 'SOURCE_CATEGORY_SEARCH'
        and regexp_contains(medium, '^(.*cp.*|ppc|retargeting|paid.*)$') then 'Paid Search'
      when source_category = 'SOURCE_CATEGORY_SOCIAL'
        and regexp_contains(medium, '^(.*cp.*|ppc|retargeting|paid.*)$') then 'Paid Social'
      when source_category = 'SOURCE_CATEGORY_VIDEO'
        and regexp_contains(medium, '^(.*cp.*|ppc|retargeting|paid.*)$') then 'Paid Video'
      when medium in ('display', 'banner', 'expandable', 'interstitial', 'cpm') then 'Display'
      when regexp_contains(medium, '^(.*cp.*|ppc|retargeting|paid.*)$') then 'Paid Other'
      when source_category = 'SOURCE_CATEGORY_SHOPPING'
        or regexp_contains(lower(coalesce(campaign, '')), '^(.*(([^a-df-z]|^)shop|shopping).*)$') then 'Organic Shopping'
      when source_category = 'SOURCE_CATEGORY_SOCIAL'
        or medium in ('social', 'social-network', 'social-media', 'sm', 'social network', 'social media') then 'Organic Social'
      when source_category = 'SOURCE_CATEGORY_VIDEO' or regexp_contains(medium, '^(.*video.*)$') then 'Organic Video'
      when source_category = 'SOURCE_CATEGORY_SEARCH' or medium = 'organic' then 'Organic Search'
      when medium in ('referral', 'app', 'link') then 'Referral'
      when regexp_contains(source, '^(email|e-mail|e_mail|e mail)$')
        or regexp_contains(medium, '^(email|e-mail|e_mail|e mail)$') then 'Email'
      when medium = 'affiliate' then 'Affiliates'
      when medium = 'audio' then 'Audio'
      when source = 'sms' or medium = 'sms' then 'SMS'
      when regexp_contains(medium, '(push$|mobile|notification)') or source = 'firebase' then 'Mobile Push Notifications'
      else 'Unassigned'
    end as channel
  from categorised
),

converted as (
  select
    g.*,
    case when g.currency = 'EUR' then 1.0 else fx.rate end as fx_rate
  from grouped as g
  left join `sam-proj.sam.stg_fx__rates` as fx
    on fx.from_currency = g.currency
    and fx.to_currency = 'EUR'
    and g.spend_date >= fx.valid_from
    and (fx.valid_to is null or g.spend_date < fx.valid_to)
)

select
  spend_date,
  source,
  medium,
  campaign,
  channel,
  currency,
  cost,
  source_rows,
  'EUR' as reporting_currency,
  fx_rate,
  case
    when currency = 'EUR' then cost
    else SAFE_CAST(cost * fx_rate AS NUMERIC)
  end as cost_reporting,
  fx_rate is null as fx_missing
from converted
