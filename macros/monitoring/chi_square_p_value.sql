{#- The p-value of a chi-square statistic with `degrees_of_freedom` (1 to 60; NULL outside), i.e. the
    survival function Q(k / 2, x / 2) of the chi-square distribution, in plain SQL:
    even k: exp(-x/2) * sum_{i < k/2} (x/2)^i / i!  (exact);
    odd k:  erfc(sqrt(x/2)) + exp(-x/2) * sum_{i < (k-1)/2} (x/2)^(i+1/2) / Gamma(i + 3/2), erfc by the
    Chebyshev fit of Numerical Recipes (erfcc: relative error below 1.2e-7 everywhere).
    Each term is exp(i ln(x/2) - x/2 - ln Gamma(.)) with the log-gamma constants below (computed with
    Python's math.lgamma), so no term overflows. A statistic of 0 gives 1. -#}
{% macro chi_square_p_value(statistic, degrees_of_freedom) -%}
    {%- set ln_factorial = [0.0, 0.0, 0.693147180559945, 1.7917594692280554, 3.178053830347945, 4.787491742782047, 6.579251212010102, 8.525161361065415, 10.604602902745249, 12.801827480081467, 15.104412573075514, 17.502307845873887, 19.987214495661885, 22.55216385312342, 25.191221182738683, 27.89927138384089, 30.671860106080672, 33.50507345013689, 36.39544520803305, 39.339884187199495, 42.335616460753485, 45.38013889847691, 48.47118135183522, 51.60667556776438, 54.78472939811232, 58.00360522298052, 61.26170176100201, 64.55753862700634, 67.88974313718153, 71.257038967168] -%}
    {%- set ln_gamma_half = [-0.12078223763524543, 0.2846828704729196, 1.2009736023470738, 2.453736570842443, 3.9578139676187165, 5.662562059857139, 7.534364236758734, 9.549267257300999, 11.689333420797269, 13.940625219403763, 16.292000476567242, 18.73434751193645, 21.2600761562447, 23.86276584168909, 26.53691449111561, 29.27775451504082, 32.081114895947344, 34.943315776876815, 37.8610865089611, 40.8315009745308, 43.85192586067516, 46.919978795808774, 50.03349410501915, 53.19049452616927, 56.389167643719944, 59.62784609588434, 62.90499082887651, 66.21917683354903, 69.56908092082362, 72.9534711841694] -%}
    {%- set x = '(cast(' ~ statistic ~ ' as ' ~ type_double() ~ ') / 2)' -%}
    {%- set k = degrees_of_freedom -%}
    case
        when {{ statistic }} is null or {{ k }} is null or {{ k }} < 1 or {{ k }} > 60 then null
        when {{ statistic }} <= 0 then 1.0
        when mod({{ k }}, 2) = 0 then least(1.0, 0
            {%- for i in range(ln_factorial | length) %}
            + case when {{ i }} < {{ k }} / 2 then exp({{ i }} * ln({{ x }}) - {{ x }} - {{ ln_factorial[i] }}) else 0 end
            {%- endfor %}
        )
        else least(1.0, {{ erfc_approximation('sqrt(' ~ x ~ ')') }}
            {%- for i in range(ln_gamma_half | length) %}
            + case when {{ i }} < ({{ k }} - 1) / 2 then exp({{ i + 0.5 }} * ln({{ x }}) - {{ x }} - {{ ln_gamma_half[i] }}) else 0 end
            {%- endfor %}
        )
    end
{%- endmacro %}
