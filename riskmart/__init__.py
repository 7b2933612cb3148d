"""riskmart: daily credit-risk scores for a B2B lender (dbt at the centre, a thin ML and API layer)."""

__version__ = "0.1.0"
