{# Marketing rules, written once (docs/architecture.md, Marketing and the web funnel): how a visit's UTM parameters and
   referrer become GA4's (source, medium, campaign), GA4's default channel group, the ad platform and the marketing
   channel. int_order_touches applies them to Shopify orders, int_ad_spend_daily to the ad platforms' campaigns, the
   web-sessions fact checks GA4's own grouping against them. Inputs are SQL expressions; matching is case-insensitive. #}

{# GA4's source lists (its default channel group definitions), as names or hosts. #}
{% macro _search_engines() -%}
    {{ return(['google', 'bing', 'duckduckgo', 'yahoo', 'baidu', 'yandex', 'ecosia', 'ask', 'aol', 'naver', 'qwant']) }}
{%- endmacro %}

{% macro _social_sites() -%}
    {{ return([
        'facebook', 'instagram', 'fb', 'ig', 'meta', 'messenger', 'pinterest', 'tiktok', 'linkedin', 'twitter', 'x',
        'reddit', 'youtube', 'snapchat', 'threads'
    ]) }}
{%- endmacro %}

{% macro _social_domains() -%}
    {{ return([
        'facebook.com', 'fb.com', 'instagram.com', 'pinterest.com', 'tiktok.com', 'linkedin.com', 'lnkd.in',
        'twitter.com', 'x.com', 't.co', 'reddit.com', 'youtube.com', 'snapchat.com', 'threads.net'
    ]) }}
{%- endmacro %}

{% macro _shopping_sites() -%}
    {{ return([
        'shopping', 'google shopping', 'shopping.google.com', 'amazon', 'amazon.com', 'ebay', 'ebay.com', 'etsy',
        'etsy.com', 'walmart', 'walmart.com'
    ]) }}
{%- endmacro %}

{% macro _email_names() %}{{ return(['email', 'e-mail', 'e_mail', 'e mail']) }}{% endmacro %}

{# `expr` matches the regular expression `pattern`, a quoted SQL string literal (a syntax PostgreSQL's POSIX regular
   expressions and DuckDB's RE2 share). #}
{% macro regex_matches(expr, pattern) -%}
    {{ return(adapter.dispatch('regex_matches')(expr, pattern)) }}
{%- endmacro %}

{% macro default__regex_matches(expr, pattern) -%}
    ({{ expr }} ~ {{ pattern }})
{%- endmacro %}

{% macro duckdb__regex_matches(expr, pattern) -%}
    regexp_matches({{ expr }}, {{ pattern }})
{%- endmacro %}

{% macro _in_list(expr, names) -%}
    {{ expr }} in ({% for n in names %}'{{ n }}'{% if not loop.last %}, {% endif %}{% endfor %})
{%- endmacro %}

{# A host (no leading www.) is one of `domains` or a subdomain of one. #}
{% macro _host_in(host, domains) -%}
    ({% for d in domains %}{{ host }} in ('{{ d }}') or {{ host }} like '%.{{ d }}'{{ ' or ' if not loop.last }}{% endfor %})
{%- endmacro %}

{# The search engine a referrer host belongs to (google.com, google.co.uk, news.google.com -> google), else null. #}
{% macro search_engine_of_host(host) -%}
    case
    {%- for e in _search_engines() %}
        when {{ host }} = '{{ e }}.com' or {{ host }} like '{{ e }}.%' or {{ host }} like '%.{{ e }}.%' then '{{ e }}'
    {%- endfor %}
    end
{%- endmacro %}

{# The visit carries campaign parameters (utm_source or utm_medium): GA4 then reports them as they are. #}
{% macro has_utm(utm_source, utm_medium) -%}
    ({{ utm_source }} is not null or {{ utm_medium }} is not null)
{%- endmacro %}

{# GA4's sessionSource of a visit: the UTM source; without UTM the search engine's name (organic), the referrer's
   host (social sites and referrals) or '(direct)'. #}
{% macro touch_source(utm_source, utm_medium, referring_host) -%}
    case
        when {{ has_utm(utm_source, utm_medium) }} then coalesce({{ utm_source }}, '(not set)')
        when {{ referring_host }} is null then '(direct)'
        when {{ search_engine_of_host('lower(' ~ referring_host ~ ')') }} is not null
            then {{ search_engine_of_host('lower(' ~ referring_host ~ ')') }}
        else lower({{ referring_host }})
    end
{%- endmacro %}

{# GA4's sessionMedium: the UTM medium; without UTM 'organic' (search engine), 'referral' or '(none)' (direct). #}
{% macro touch_medium(utm_source, utm_medium, referring_host) -%}
    case
        when {{ has_utm(utm_source, utm_medium) }} then coalesce({{ utm_medium }}, '(not set)')
        when {{ referring_host }} is null then '(none)'
        when {{ search_engine_of_host('lower(' ~ referring_host ~ ')') }} is not null then 'organic'
        else 'referral'
    end
{%- endmacro %}

{# GA4's sessionCampaignName: the UTM campaign; without UTM '(organic)', '(referral)' or '(direct)'. #}
{% macro touch_campaign(utm_source, utm_medium, utm_campaign, referring_host) -%}
    case
        when {{ has_utm(utm_source, utm_medium) }} then coalesce({{ utm_campaign }}, '(not set)')
        when {{ referring_host }} is null then '(direct)'
        when {{ search_engine_of_host('lower(' ~ referring_host ~ ')') }} is not null then '(organic)'
        else '(referral)'
    end
{%- endmacro %}

{# GA4's sessionCampaignId: the UTM id of a tagged visit, else null (GA4's '(not set)'). #}
{% macro touch_campaign_id(utm_source, utm_medium, utm_id) -%}
    case when {{ has_utm(utm_source, utm_medium) }} then {{ utm_id }} end
{%- endmacro %}

{# GA4's default channel group of a (source, medium, campaign), its rules in GA4's order (the groups the store's
   traffic can reach; video, audio, SMS and push fall into Paid Other / Unassigned). #}
{% macro default_channel_group(source, medium, campaign) -%}
    {%- set s = 'lower(' ~ source ~ ')' -%}
    {%- set m = 'lower(' ~ medium ~ ')' -%}
    {%- set c = 'lower(coalesce(' ~ campaign ~ ", ''))" -%}
    {%- set paid = '(' ~ m ~ " like '%cp%' or " ~ m ~ " in ('ppc', 'retargeting') or " ~ m ~ " like 'paid%')" -%}
    {%- set shop_campaign = regex_matches(c, "'(^|[^a-df-z])shop|shopping'") -%}
    {%- set search_engine = search_engine_of_host(s) -%}
    {%- set search_source = '(' ~ _in_list(s, _search_engines()) ~ ' or ' ~ search_engine ~ ' is not null)' -%}
    {%- set social_source = '(' ~ _in_list(s, _social_sites()) ~ ' or ' ~ _host_in(s, _social_domains()) ~ ')' -%}
    case
        when {{ s }} = '(direct)' and {{ m }} in ('(none)', '(not set)') then 'Direct'
        when {{ c }} like '%cross-network%' then 'Cross-network'
        when ({{ _in_list(s, _shopping_sites()) }} or {{ shop_campaign }}) and {{ paid }} then 'Paid Shopping'
        when {{ search_source }} and {{ paid }} then 'Paid Search'
        when {{ social_source }} and {{ paid }} then 'Paid Social'
        when {{ m }} in ('display', 'banner', 'expandable', 'interstitial', 'cpm') then 'Display'
        when {{ paid }} then 'Paid Other'
        when {{ _in_list(s, _shopping_sites()) }} or {{ shop_campaign }} then 'Organic Shopping'
        when {{ social_source }}
            or {{ m }} in ('social', 'social-network', 'social-media', 'sm', 'social network', 'social media')
            then 'Organic Social'
        when {{ search_source }} or {{ m }} = 'organic' then 'Organic Search'
        when {{ m }} in ('referral', 'app', 'link') then 'Referral'
        when {{ _in_list(s, _email_names()) }} or {{ _in_list(m, _email_names()) }} then 'Email'
        when {{ m }} = 'affiliate' then 'Affiliates'
        else 'Unassigned'
    end
{%- endmacro %}

{# The ad platform that bought a paid visit: Google Ads for Google's paid search and shopping clicks, Meta for paid
   Facebook / Instagram clicks; null for every unpaid visit (Amazon Ads clicks never reach the store). #}
{% macro ad_platform(source, channel_group) -%}
    case
        when {{ channel_group }} in ('Paid Search', 'Paid Shopping', 'Cross-network')
            and lower({{ source }}) in ('google', 'google ads', 'adwords') then 'google_ads'
        when {{ channel_group }} = 'Paid Social'
            and lower({{ source }}) in ('facebook', 'instagram', 'fb', 'ig', 'meta', 'messenger', 'an') then 'meta'
    end
{%- endmacro %}

{# The marketing channel of a channel group: its snake_case name ('Paid Search' -> 'paid_search'). #}
{% macro marketing_channel(channel_group) -%}
    lower(replace(replace({{ channel_group }}, ' ', '_'), '-', '_'))
{%- endmacro %}
