{#-
    Generic test: no two rows share the same values of `columns` (the grain). Returns each
    repeated combination with its row_count.

    Grouping millions of rows on several text columns is the costly part of the nightly
    tests. For a grain of several columns, where the engine has a fast 64-bit row hash
    (grain_hash), rows are first grouped on the hash alone; only rows whose hash repeats
    are then grouped on the columns themselves, so a hash collision never reports a false
    duplicate and a true duplicate always shares its hash. A single column, or an engine
    without the hash, is grouped on directly (hashing one column saves nothing).

    since_last_pass (an incremental table's built_at column): only the grains holding a row
    written since this test last passed are grouped, where the engine keeps passes and
    those rows are fewer than half the table (macros/test_passes.sql); otherwise the whole
    table is.
-#}
{% test unique_combination(model, columns, since_last_pass=none) %}
    {%- set key_hash = flex_usage.grain_hash(columns) | trim if columns | length > 1 else '' -%}
    {%- set grain_key = columns[0] if columns | length == 1 else key_hash -%}
    {%- set last_pass = flex_usage.last_test_pass(
        flex_usage.test_pass_key(model.identifier, 'unique_combination', columns)
    ) | trim if since_last_pass and grain_key else '' -%}
    {%- if last_pass and not flex_usage.narrowing_pays(model, since_last_pass, last_pass) -%}
        {%- set last_pass = '' -%}
    {%- endif -%}
    {%- set recent = grain_key ~ ' in (select r.grain_key from recent_grains as r)' -%}
    {%- if key_hash -%}
        {%- set final_filter = key_hash ~ ' in (select h.grain_hash from repeated_hashes as h)' -%}
    {%- else -%}
        {%- set final_filter = recent if last_pass else '' -%}
    {%- endif %}

    with
    {%- if last_pass %}
        recent_grains as (
            select {{ grain_key }} as grain_key
            from {{ model }}
            where {{ flex_usage.written_since(since_last_pass, last_pass) }}
        ),
    {%- endif %}
    {%- if key_hash %}
        repeated_hashes as (
            select {{ key_hash }} as grain_hash
            from {{ model }}
            {%- if last_pass %}
                where {{ recent }}
            {%- endif %}
            group by 1
            having count(*) > 1
        ),
    {%- endif %}

    repeated as (
        select
            {{ columns | join(', ') }},
            count(*) as row_count
        from {{ model }}
        {%- if final_filter %}
            where {{ final_filter }}
        {%- endif %}
        group by {{ columns | join(', ') }}
        having count(*) > 1
    )

    select * from repeated
{% endtest %}
