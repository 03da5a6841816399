{#-
    The charges whose drawdown entries the latest build computed (every
    charge after a full build; after an incremental one, the charges of the
    teams it replayed, from their cut on). The drawdown audits check these:
    the entries a build kept were checked by the build that computed them.
-#}
{% macro latest_build_charges() -%}
    select distinct item_id as usage_id
    from {{ ref('int_drawdown_entries') }}
    where
        entry_kind <> 'event'
        and built_seq = (select max(b.built_seq) from {{ ref('int_drawdown_entries') }} as b)
{%- endmacro %}
