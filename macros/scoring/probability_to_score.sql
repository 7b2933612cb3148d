{#- Points-to-double-odds scaling of a probability of default (higher score = safer), see `score_factor`:
    score = offset + factor * ln((1 - p) / p), rounded and clipped to [min_score, max_score]. -#}
{#- offset = base_score - factor * ln(base_good_bad_odds): the score at even odds. -#}
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
