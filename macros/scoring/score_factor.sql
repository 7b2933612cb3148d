{#- Points-to-double-odds scaling of a probability of default (higher score = safer).
    factor = pdo / ln(2); offset = base_score - factor * ln(base_odds);
    score = offset + factor * ln((1 - p) / p), rounded and clipped to [min_score, max_score].
    With 600 points at 50:1 good:bad odds and PDO 20: factor 28.8539, offset 487.123. -#}
{% macro score_factor(points_to_double_odds) -%}
    ({{ points_to_double_odds }} / ln(2))
{%- endmacro %}
