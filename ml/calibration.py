"""Fit the calibrator that maps the model's log-odds to probabilities, on validation dates; applying one is
`scoring.calibration` (shared with applicant scoring), stored as plain JSON."""

from __future__ import annotations

import numpy as np

from ml.evaluate import logistic_fit
from scoring.calibration import METHODS, CalibrationError
from scoring.calibration import Calibrator as AppliedCalibrator

__all__ = ["METHODS", "CalibrationError", "Calibrator"]


class Calibrator(AppliedCalibrator):
    """A calibrator that can also be fitted (training); see scoring.calibration.Calibrator."""

    @classmethod
    def fit(cls, method: str, margin, y) -> Calibrator:
        margin = np.asarray(margin, dtype=np.float64)
        y = np.asarray(y, dtype=np.float64)
        if method == "platt":
            slope, intercept = logistic_fit(margin, y)
            return cls(method, {"slope": slope, "intercept": intercept})
        if method == "isotonic":
            from sklearn.isotonic import IsotonicRegression

            iso = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(margin, y)
            return cls(method, {"x": iso.X_thresholds_.tolist(), "y": iso.y_thresholds_.tolist()})
        raise CalibrationError(f"unknown calibration method {method!r}; use one of {METHODS}")
