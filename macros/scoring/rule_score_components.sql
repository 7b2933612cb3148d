{#- The components of the rule score and the feature each reads, in one place for fct_rule_scores
    (which scores them) and fct_client_scores (which explains them). Weights and caps live in the
    `rule_score_components` seed, one row per component named here. -#}
{% macro rule_score_components() -%}
    {{ return([
        ('payment_timeliness', 'recency_weighted_payment_score_90d'),
        ('overdue_invoices', 'oldest_overdue_days'),
        ('payment_stability', 'stddev_days_past_due_6m'),
        ('deterioration', 'days_past_due_velocity'),
        ('utilization', 'utilization_ratio_avg_3m'),
        ('active_payment_plans', 'active_payment_plans'),
        ('defaulted_payment_plans', 'defaulted_payment_plans'),
        ('bureau_score', 'bureau_score'),
        ('bureau_defaults', 'bureau_defaults'),
    ]) }}
{%- endmacro %}
