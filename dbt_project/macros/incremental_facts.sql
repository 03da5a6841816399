{#-
    Post-hook of the incremental facts (fct_usage, fct_daily_usage). delete+insert only
    replaces the keys its batch holds, so a key left with no rows (a charge withdrawn, a day
    emptied, a date beyond a moved-back D) is sent as a marker row that this hook deletes.
-#}
{% macro delete_marker_rows(marker_condition) -%}
    {{ return(adapter.dispatch('delete_marker_rows', 'flex_usage')(marker_condition)) }}
{%- endmacro %}

{#- Spark rebuilds these models in full (see incremental_materialization): no markers. -#}
{% macro spark__delete_marker_rows(marker_condition) -%}{%- endmacro %}

{% macro default__delete_marker_rows(marker_condition) -%}
    {%- if is_incremental() -%}
        delete from {{ this }} where {{ marker_condition }}
    {%- endif -%}
{%- endmacro %}

{#-
    True when the model's previous build exists and already has `column` (the bookkeeping a
    build reads to find what changed); false on a first or full build, and on a table built
    before the column existed, which is then rebuilt in full.
-#}
{% macro incremental_with_column(column) -%}
    {%- if not is_incremental() or not execute -%}
        {{ return(false) }}
    {%- endif -%}
    {%- set names = adapter.get_columns_in_relation(this) | map(attribute='name') | map('lower') | list -%}
    {{ return(column | lower in names) }}
{%- endmacro %}

{#-
    Union branches for an incremental model's changed keys: the `key` of every charge D moved
    over since the previous build (dated after the last day that build held when D moved
    forward, after D when it moved back). `this_key` names the charge's key in the model's
    own rows when it differs (int_drawdown_entries: item_id). Needs a `previous_build` CTE
    with `last_date`.
-#}
{% macro keys_moved_over_by_as_of(key, this_key=none) -%}
    select u.{{ key }}
    from {{ ref('stg_usage') }} as u
    cross join previous_build as p
    where u.usage_date > p.last_date
    union
    select prior.{{ this_key or key }} as {{ key }}
    from {{ this }} as prior
    where prior.usage_date > {{ as_of_date() }}
{%- endmacro %}

{#-
    Incremental strategy `replace_keys`: delete+insert on a composite unique_key (a list).
    dbt-duckdb's delete+insert deletes through a join on the key columns, which fans out
    when a key has many rows on both sides (int_user_weekly_days: a team and range holds
    thousands); this deletes the target rows whose key the batch holds with EXISTS, a
    semi-join, then inserts the batch.
-#}
{% macro get_incremental_replace_keys_sql(arg_dict) -%}
    {%- set target = arg_dict['target_relation'] -%}
    {%- set batch = arg_dict['temp_relation'] -%}
    {%- set columns = get_quoted_csv(arg_dict['dest_columns'] | map(attribute='name')) -%}
    delete from {{ target }}
    where exists (
        select 1
        from {{ batch }} as batch
        where
            {%- for key in arg_dict['unique_key'] %}
                batch.{{ key }} = {{ target }}.{{ key }}{{ ' and' if not loop.last }}
            {%- endfor %}
    );
    insert into {{ target }} ({{ columns }})
    select {{ columns }} from {{ batch }}
{%- endmacro %}
