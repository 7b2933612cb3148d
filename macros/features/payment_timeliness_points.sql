{#- Timeliness points (0 to 100, higher is better) of one payment, from its days past due, on the curve in
    the seed `payment_timeliness_curve`: linear between consecutive breakpoints, flat before the first (early
    payments) and after the last. The curve is read by a scalar subquery on the seed, so the risk team edits
    the CSV and every engine computes the same points; NULL days past due give NULL points. -#}
{% macro payment_timeliness_points(days_past_due) -%}
    {{ return(adapter.dispatch('payment_timeliness_points', 'riskmart')(days_past_due)) }}
{%- endmacro %}

{% macro default__payment_timeliness_points(days_past_due) -%}
    (
        select
            coalesce(
                max(
                    case
                        when {{ days_past_due }} >= curve.dpd_from and {{ days_past_due }} < curve.dpd_to
                            then curve.points_from
                                + (curve.points_to - curve.points_from)
                                * ({{ days_past_due }} - curve.dpd_from)
                                / (curve.dpd_to - curve.dpd_from)
                    end
                ),
                max(case when curve.dpd_to is null and {{ days_past_due }} >= curve.dpd_from then curve.points_from end),
                max(case when curve.is_first and {{ days_past_due }} < curve.dpd_from then curve.points_from end)
            )
        from (
            select
                cast(days_past_due as {{ type_double() }}) as dpd_from,
                cast(points as {{ type_double() }}) as points_from,
                cast(lead(days_past_due) over (order by days_past_due) as {{ type_double() }}) as dpd_to,
                cast(lead(points) over (order by days_past_due) as {{ type_double() }}) as points_to,
                row_number() over (order by days_past_due) = 1 as is_first
            from {{ ref('payment_timeliness_curve') }}
        ) as curve
    )
{%- endmacro %}
