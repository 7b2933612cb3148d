{#- Points-to-double-odds scaling of a probability of default (higher score = safer).
    factor = pdo / ln(2); offset = base_score - factor * ln(base_odds);
    score = offset + factor * ln((1 - p) / p), rounded and clipped to [min_score, max_score].
    With 600 points at 50:1 good:bad odds and PDO 20: factor 28.8539, offset 487.123. -#}
{% macro score_factor(points_to_double_odds) -%}
    ({{ points_to_double_odds }} / ln(2))
{%- endmacro %}

{% macro score_offset(base_score, base_good_bad_odds, points_to_double_odds) -%}
    ({{ base_score }} - {{ score_factor(points_to_double_odds) }} * ln({{ base_good_bad_odds }}))
{%- endmacro %}

{% macro probability_to_score(probability, base_score, base_good_bad_odds, points_to_double_odds, min_score, max_score) -%}
    {#- The probability is kept inside (1e-9, 1 - 1e-9) so that certainty maps to the clip, not to infinity. -#}
    cast(round(least({{ max_score }}, greatest({{ min_score }},
        {{ score_offset(base_score, base_good_bad_odds, points_to_double_odds) }}
        + {{ score_factor(points_to_double_odds) }}
        * ln((1 - least(greatest({{ probability }}, 1e-9), 1 - 1e-9))
            / least(greatest({{ probability }}, 1e-9), 1 - 1e-9))
    ))) as {{ dbt.type_int() }})
{%- endmacro %}

{% macro relation_exists_or_empty(relation, empty_select) -%}
    {#- The ML tables appear only after the first `riskmart score`; before that the scored mart falls back
        to the rule score, so a missing relation reads as an empty, typed one. -#}
    {%- if execute and load_relation(relation) is none -%}
        ({{ empty_select }})
    {%- else -%}
        {{ relation }}
    {%- endif -%}
{%- endmacro %}
