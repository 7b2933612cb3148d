"""Scoring with a published bundle: applying the champion (`scoring.model`, which the daily scoring in
`ml.score` runs too) and scoring an applicant as the marts score a client (`scoring.applicant`). It imports
only `bundle` and libraries: never `ml`, `api` or `riskmart`."""
