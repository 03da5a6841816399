{#-
    Incremental strategy `replace_from_cut` (int_drawdown_entries): the batch holds, per key
    (team), the rows replayed from the key's cut and one marker row at the cut itself. The
    target keeps the key's rows before the cut; the rows from the cut on are deleted and the
    batch's rows inserted, without the markers. Keys absent from the batch are not touched.

    Model config: unique_key (the key column), cut_column (the column the cut is on) and
    cut_marker (a condition true on marker rows only).
-#}
{% macro get_incremental_replace_from_cut_sql(arg_dict) -%}
    {%- set target = arg_dict['target_relation'] -%}
    {%- set batch = arg_dict['temp_relation'] -%}
    {%- set key = config.require('unique_key') -%}
    {%- set cut_column = config.require('cut_column') -%}
    {%- set columns = get_quoted_csv(arg_dict['dest_columns'] | map(attribute='name')) -%}
    delete from {{ target }} as kept
    using (
        select
            {{ key }},
            min({{ cut_column }}) as cut
        from {{ batch }}
        group by {{ key }}
    ) as cuts
    where kept.{{ key }} = cuts.{{ key }} and kept.{{ cut_column }} >= cuts.cut;

    insert into {{ target }} ({{ columns }})
    select {{ columns }}
    from {{ batch }}
    where not ({{ config.require('cut_marker') }})
{%- endmacro %}
