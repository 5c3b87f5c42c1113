package sampledata

import (
	"strconv"
	"time"
	"unicode/utf8"
)

// appendEvent appends one GA4 export row as BigQuery writes it to
// newline-delimited JSON: every top-level column in schema order, INT64 as
// JSON strings, absent values as null.
func (g *generator) appendEvent(b []byte, s *session, name string, ts, offset int64, extra []param) []byte {
	v := s.v
	date := time.UnixMicro(ts).UTC()
	b = append(b, `{"event_date":"`...)
	b = date.AppendFormat(b, "20060102")
	b = append(b, `","event_timestamp":`...)
	b = appendInt(b, ts)
	b = append(b, `,"event_name":`...)
	b = appendStr(b, name)
	b = append(b, `,"event_params":[`...)
	b = g.appendParams(b, s, name, extra)
	b = append(b, `],"event_previous_timestamp":null,"event_value_in_usd":`...)
	if name == "generate_lead" {
		b = append(b, "0.0"...)
	} else {
		b = append(b, "null"...)
	}
	b = append(b, `,"event_bundle_sequence_id":`...)
	b = appendInt(b, g.bundleSeq)
	b = append(b, `,"event_server_timestamp_offset":`...)
	b = appendInt(b, offset)
	b = append(b, `,"user_id":`...)
	b = appendStrOrNull(b, v.userID)
	b = append(b, `,"user_pseudo_id":`...)
	b = appendStrOrNull(b, v.clientID)
	if v.clientID == "" {
		b = append(b, `,"privacy_info":{"analytics_storage":"No","ads_storage":"No","uses_transient_token":"Yes"}`...)
	} else {
		b = append(b, `,"privacy_info":{"analytics_storage":"Yes","ads_storage":"Yes","uses_transient_token":"No"}`...)
	}
	b = append(b, `,"user_properties":[`...)
	if v.userID != "" {
		b = append(b, `{"key":"crm_user","value":{"string_value":"yes","int_value":null,"float_value":null,"double_value":null,"set_timestamp_micros":`...)
		b = appendInt(b, ts)
		b = append(b, `}}`...)
	}
	b = append(b, `],"user_first_touch_timestamp":`...)
	if v.clientID == "" {
		b = append(b, "null"...)
	} else {
		b = appendInt(b, v.firstTouch)
	}
	b = append(b, `,"user_ltv":null,"device":{"category":`...)
	dv := &devices[v.device]
	b = appendStr(b, dv.category)
	if dv.category == "desktop" {
		b = append(b, `,"mobile_brand_name":null,"mobile_model_name":null,"mobile_marketing_name":null`...)
	} else {
		b = append(b, `,"mobile_brand_name":`...)
		b = appendStr(b, dv.brand)
		b = append(b, `,"mobile_model_name":`...)
		b = appendStr(b, dv.model)
		b = append(b, `,"mobile_marketing_name":`...)
		b = appendStr(b, dv.model)
	}
	b = append(b, `,"mobile_os_hardware_model":null,"operating_system":`...)
	b = appendStr(b, dv.os)
	b = append(b, `,"operating_system_version":`...)
	b = appendStr(b, dv.osVersion)
	b = append(b, `,"vendor_id":null,"advertising_id":null,"language":`...)
	b = appendStr(b, dv.language)
	b = append(b, `,"is_limited_ad_tracking":"No","time_zone_offset_seconds":null,"browser":null,"browser_version":null,"web_info":{"browser":`...)
	b = appendStr(b, dv.browser)
	b = append(b, `,"browser_version":`...)
	b = appendStr(b, dv.browserVersion)
	b = append(b, `,"hostname":"`+host+`"}},"geo":{"city":`...)
	ge := &geos[v.geo]
	b = appendStr(b, ge.city)
	b = append(b, `,"country":`...)
	b = appendStr(b, ge.country)
	b = append(b, `,"continent":`...)
	b = appendStr(b, ge.continent)
	b = append(b, `,"region":`...)
	b = appendStr(b, ge.region)
	b = append(b, `,"sub_continent":`...)
	b = appendStr(b, ge.subContinent)
	b = append(b, `,"metro":`...)
	b = appendStr(b, ge.metro)
	b = append(b, `},"app_info":null,"traffic_source":`...)
	if v.clientID == "" {
		b = append(b, "null"...)
	} else {
		src, med, camp := firstTouchNames(v.acq)
		b = append(b, `{"name":`...)
		b = appendStr(b, camp)
		b = append(b, `,"medium":`...)
		b = appendStr(b, med)
		b = append(b, `,"source":`...)
		b = appendStr(b, src)
		b = append(b, '}')
	}
	b = append(b, `,"stream_id":"4178120931","platform":"WEB","event_dimensions":null,"ecommerce":null,"items":[],"collected_traffic_source":`...)
	b = s.appendCollected(b)
	b = append(b, `,"is_active_user":`...)
	b = strconv.AppendBool(b, s.engaged && v.clientID != "")
	b = append(b, `,"batch_event_index":"0","batch_page_id":`...)
	b = appendInt(b, int64(s.page))
	b = append(b, `,"batch_ordering_id":`...)
	b = appendInt(b, int64(s.ordering))
	b = append(b, `,"session_traffic_source_last_click":`...)
	if s.d >= g.schemaSwitch {
		b = s.appendLastClick(b)
	} else {
		b = append(b, "null"...)
	}
	b = append(b, `,"publisher":null}`...)
	return b
}

func (g *generator) appendParams(b []byte, s *session, name string, extra []param) []byte {
	first := true
	add := func(p param) {
		if !first {
			b = append(b, ',')
		}
		first = false
		b = appendParam(b, p)
	}
	if s.v.clientID != "" {
		add(ip("ga_session_id", s.id))
		add(ip("ga_session_number", int64(s.num)))
	}
	add(sp("page_location", s.location))
	if s.referrer != "" {
		add(sp("page_referrer", s.referrer))
	}
	add(sp("page_title", pageTitles[pathOf(s.location)]))
	if s.engaged && name != "session_start" && name != "first_visit" {
		add(sp("session_engaged", "1"))
	} else if s.bot && name != "session_start" && name != "first_visit" {
		add(sp("session_engaged", "0"))
	}
	if s.landing && (s.gclid != "" || s.ch.campaign != "") {
		if s.gclid != "" {
			add(sp("gclid", s.gclid))
		}
		if s.ch.campaign != "" && s.gclid == "" {
			add(sp("source", s.ch.source))
			add(sp("medium", s.ch.medium))
			add(sp("campaign", s.ch.campaign))
		}
	}
	if name == "page_view" || name == "session_start" || name == "first_visit" {
		add(ip("batch_page_id", int64(s.page)))
	}
	for _, p := range extra {
		add(p)
	}
	return b
}

func pathOf(u string) string {
	const prefix = "https://" + host
	p := u[len(prefix):]
	for i := 0; i < len(p); i++ {
		if p[i] == '?' {
			return p[:i]
		}
	}
	return p
}

func appendParam(b []byte, p param) []byte {
	b = append(b, `{"key":`...)
	b = appendStr(b, p.key)
	b = append(b, `,"value":{"string_value":`...)
	switch p.kind {
	case 's':
		b = appendStr(b, p.s)
		b = append(b, `,"int_value":null,"float_value":null,"double_value":null}}`...)
	case 'i':
		b = append(b, `null,"int_value":`...)
		b = appendInt(b, p.i)
		b = append(b, `,"float_value":null,"double_value":null}}`...)
	default:
		b = append(b, `null,"int_value":null,"float_value":null,"double_value":`...)
		b = strconv.AppendFloat(b, p.f, 'f', 1, 64)
		b = append(b, `}}`...)
	}
	return b
}

// firstTouchNames is the user-scoped traffic_source of a visitor acquired
// through c, as GA4 names it.
func firstTouchNames(c *channel) (source, medium, name string) {
	switch {
	case c.campaign != "":
		return c.source, c.medium, c.campaign
	case c.medium == "organic":
		return c.source, c.medium, "(organic)"
	case c.medium == "referral":
		return c.source, c.medium, "(referral)"
	}
	return "(direct)", "(none)", "(direct)"
}

// appendCollected writes collected_traffic_source: present on the landing
// hit of a tagged (utm or gclid) session only, as GA4 collects it.
func (s *session) appendCollected(b []byte) []byte {
	if !s.landing || (s.gclid == "" && s.ch.campaign == "") {
		return append(b, "null"...)
	}
	if s.gclid != "" {
		b = append(b, `{"gclid":`...)
		b = appendStr(b, s.gclid)
		return append(b, '}')
	}
	b = append(b, `{"manual_campaign_name":`...)
	b = appendStr(b, s.ch.campaign)
	if s.ch.campaignID != "" {
		b = append(b, `,"manual_campaign_id":`...)
		b = appendStr(b, s.ch.campaignID)
	}
	b = append(b, `,"manual_source":`...)
	b = appendStr(b, s.ch.source)
	b = append(b, `,"manual_medium":`...)
	b = appendStr(b, s.ch.medium)
	return append(b, `,"manual_term":null,"manual_content":null,"gclid":null,"dclid":null,"srsltid":null}`...)
}

// appendLastClick writes session_traffic_source_last_click, which exports
// carry on every event since mid-2024 (earlier days of the sample leave it
// null, so staging's fallback is exercised too).
func (s *session) appendLastClick(b []byte) []byte {
	c := s.ch
	src, med, name := firstTouchNames(c)
	b = append(b, `{"manual_campaign":{"campaign_id":`...)
	b = appendStrOrNull(b, c.campaignID)
	b = append(b, `,"campaign_name":`...)
	b = appendStr(b, name)
	b = append(b, `,"source":`...)
	b = appendStr(b, src)
	b = append(b, `,"medium":`...)
	b = appendStr(b, med)
	b = append(b, `},"google_ads_campaign":`...)
	platform := "Manual"
	if s.gclid != "" {
		platform = "Google Ads"
		b = append(b, `{"customer_id":"4455667788","account_name":"Acme Analytics","campaign_id":`...)
		b = appendStr(b, c.campaignID)
		b = append(b, `,"campaign_name":`...)
		b = appendStr(b, c.campaign)
		b = append(b, `,"ad_group_id":"1500`...)
		b = append(b, c.campaignID[len(c.campaignID)-3:]...)
		b = append(b, `","ad_group_name":"core_terms"}`...)
	} else {
		b = append(b, "null"...)
	}
	b = append(b, `,"cross_channel_campaign":{"campaign_id":`...)
	b = appendStrOrNull(b, c.campaignID)
	b = append(b, `,"campaign_name":`...)
	b = appendStr(b, name)
	b = append(b, `,"source":`...)
	b = appendStr(b, src)
	b = append(b, `,"medium":`...)
	b = appendStr(b, med)
	b = append(b, `,"source_platform":`...)
	b = appendStr(b, platform)
	b = append(b, `,"default_channel_group":`...)
	b = appendStr(b, c.group)
	b = append(b, `,"primary_channel_group":`...)
	b = appendStr(b, c.group)
	return append(b, `},"sa360_campaign":null,"cm360_campaign":null,"dv360_campaign":null}`...)
}

func appendInt(b []byte, v int64) []byte {
	b = append(b, '"')
	b = strconv.AppendInt(b, v, 10)
	return append(b, '"')
}

func appendStrOrNull(b []byte, s string) []byte {
	if s == "" {
		return append(b, "null"...)
	}
	return appendStr(b, s)
}

const hexDigits = "0123456789abcdef"

// appendStr appends s as a JSON string.
func appendStr(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size == 1 {
				b = append(b, s[start:i]...)
				b = append(b, `\ufffd`...)
				i += size
				start = i
				continue
			}
			i += size
			continue
		}
		b = append(b, s[start:i]...)
		switch c {
		case '"', '\\':
			b = append(b, '\\', c)
		case '\n':
			b = append(b, '\\', 'n')
		case '\t':
			b = append(b, '\\', 't')
		default:
			b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		}
		i++
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
