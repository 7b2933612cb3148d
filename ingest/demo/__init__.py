"""The demo lender behind `riskmart demo-data` (see ingest/README.md for the generative model)."""
