{#-
    Number of bucket levels the drawdown unrolls: the largest bucket_rank in
    the built int_team_pack_ledger (the most packs one team holds),
    never less than var `drawdown_min_depth`. Spark does not accept window
    functions inside a recursive CTE, so the drawdown is unrolled per level
    at compile time instead; models compile just before they run, so the
    ledger already holds this run's data. Before the ledger exists (parse,
    compile) the minimum is used; unit tests, whose ledger is a fixture,
    fall back to the table in the target schema or to the minimum.
-#}
{% macro drawdown_depth() -%}
    {{ return(built_max('int_team_pack_ledger', 'bucket_rank')) }}
{%- endmacro %}

{#-
    Number of pack levels the balance forecast unrolls: the most packs one
    team draws from in the simulation (largest forecast_rank of the built
    int_forecast_packs), never less than var `drawdown_min_depth`; same
    fallbacks as drawdown_depth.
-#}
{% macro forecast_depth() -%}
    {{ return(built_max('int_forecast_packs', 'forecast_rank')) }}
{%- endmacro %}

{#- The largest value of `column` in the built model `model_name`, at least var `drawdown_min_depth`. -#}
{% macro built_max(model_name, column) -%}
    {%- set minimum = var('drawdown_min_depth') | int -%}
    {%- if not execute -%}
        {{ return(minimum) }}
    {%- endif -%}
    {%- set built = ref(model_name) -%}
    {%- set existing = adapter.get_relation(
        database=built.database or target.database,
        schema=built.schema or target.schema,
        identifier=model_name,
    ) -%}
    {%- if existing is none -%}
        {{ return(minimum) }}
    {%- endif -%}
    {%- set result = run_query('select max(' ~ column ~ ') from ' ~ existing) -%}
    {%- set deepest = result.columns[0].values()[0] -%}
    {{ return([minimum, (deepest or 0) | int] | max) }}
{%- endmacro %}

{#-
    Session settings the unrolled drawdown needs (a pre-hook of
    int_drawdown_entries). Spark's analyzer stops after 100 resolution
    iterations by default, which a team holding many packs can exceed.
-#}
{% macro drawdown_session_settings() -%}
    {{ return(adapter.dispatch('drawdown_session_settings', 'flex_usage')()) }}
{%- endmacro %}

{% macro default__drawdown_session_settings() -%}
{%- endmacro %}

{% macro spark__drawdown_session_settings() -%}
    set spark.sql.analyzer.maxIterations = 1000
{%- endmacro %}
