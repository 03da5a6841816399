{#-
    Post-hook of the incremental int_drawdown_entries: a team left with no
    charge and no held pack (e.g. the as-of date moved back before its first
    one) has nothing to replay, so delete+insert would keep its old entries.
-#}
{% macro delete_entries_of_teams_without_items() -%}
    {{ return(adapter.dispatch('delete_entries_of_teams_without_items', 'flex_usage')()) }}
{%- endmacro %}

{#- Spark rebuilds the model in full (see incremental_materialization): nothing to delete. -#}
{% macro spark__delete_entries_of_teams_without_items() -%}{%- endmacro %}

{% macro default__delete_entries_of_teams_without_items() -%}
    delete from {{ this }}
    where team_id not in (
        select team_id from {{ ref('stg_usage') }} where tokens > 0
        union
        select team_id from {{ ref('int_team_pack_ledger') }}
    )
{%- endmacro %}
