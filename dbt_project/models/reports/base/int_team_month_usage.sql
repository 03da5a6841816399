{%- set key, measure = 'month', 'total_users' -%}
{{ month_range_reuse_config(key=key, measure=measure) }}
-- Tokens by month on ids: per reported team and month with use, from the first month of
-- 'Past 12 months' to the month of D (up to D), the tokens used and the distinct products
-- and users. The daily rows are folded to one per team, month, user and product first: the
-- distinct counts then run on far fewer rows. Incremental: the month after the month ranges
-- (the month of D, when D is not its last day) is redone every build, the complete months
-- per team only when they no longer hold (see macros/reports/month_range_reuse.sql).
{%- set tracked = incremental_with_column('month_ranges_end') %}

with
{{ month_range_reuse_ctes(tracked) }},

month_user_products as (
    -- of the teams whose complete months are kept, only the rows after the month ranges
    select
        team_id,
        {{ date_month_start('usage_date') }} as month,
        autodesk_id,
        product_line_code,
        sum(tokens) as tokens
    from {{ month_range_daily_rows(tracked, dbt.dateadd('day', 1, 'bounds.end_2')) }} as daily
    group by team_id, {{ date_month_start('usage_date') }}, autodesk_id, product_line_code
),

counted as (
    select
        team_id,
        month,
        cast(sum(tokens) as {{ dbt.type_bigint() }}) as tokens_used,
        cast(count(distinct product_line_code) as {{ dbt.type_bigint() }}) as products_used,
        cast(count(distinct autodesk_id) as {{ dbt.type_bigint() }}) as total_users
    from month_user_products
    group by team_id, month
)

{{ month_range_rows_out(tracked, [
    ('tokens_used', dbt.type_bigint()),
    ('products_used', dbt.type_bigint()),
], measure, key=key, redone='prior.month > prior.month_ranges_end') }}
