{#-
    Generic test: no two rows share the same values of `columns` (the grain). Returns each
    repeated combination with its row_count.

    Grouping millions of rows on several text columns is the costly part of the nightly
    tests. For a grain of several columns, where the engine has a fast 64-bit row hash
    (grain_hash), rows are first grouped on the hash alone; only rows whose hash repeats
    are then grouped on the columns themselves, so a hash collision never reports a false
    duplicate and a true duplicate always shares its hash. A single column, or an engine
    without the hash, is grouped on directly (hashing one column saves nothing).
-#}
{% test unique_combination(model, columns) %}
    {%- set key_hash = flex_usage.grain_hash(columns) | trim if columns | length > 1 else '' -%}
    {%- if key_hash %}
        with repeated_hashes as (
            select {{ key_hash }} as grain_hash
            from {{ model }}
            group by 1
            having count(*) > 1
        )
    {% endif %}

    select
        {{ columns | join(', ') }},
        count(*) as row_count
    from {{ model }}
    {%- if key_hash %}
        where {{ key_hash }} in (select grain_hash from repeated_hashes)
    {%- endif %}
    group by {{ columns | join(', ') }}
    having count(*) > 1
{% endtest %}
