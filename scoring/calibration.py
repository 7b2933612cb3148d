"""Map a model's log-odds to calibrated probabilities, from the calibrator file stored beside the model.
Fitting one is training's job (`ml.calibration`)."""

from __future__ import annotations

import numpy as np

METHODS = ("platt", "isotonic")


class CalibrationError(ValueError):
    """A calibrator file or method that cannot be used."""


class Calibrator:
    """Platt (logistic on the margin: strictly increasing, so it keeps the model's ranking and AUC) or
    isotonic (piecewise linear through the isotonic fit's knots: more flexible, may tie scores)."""

    def __init__(self, method: str, params: dict) -> None:
        if method not in METHODS:
            raise CalibrationError(f"unknown calibration method {method!r}; use one of {METHODS}")
        self.method = method
        self.params = params

    def predict(self, margin) -> np.ndarray:
        margin = np.asarray(margin, dtype=np.float64)
        if self.method == "platt":
            linear = self.params["slope"] * margin + self.params["intercept"]
            return 1.0 / (1.0 + np.exp(-np.clip(linear, -35, 35)))
        return np.interp(margin, self.params["x"], self.params["y"])

    def to_json(self) -> dict:
        return {"method": self.method, **self.params}

    @classmethod
    def from_json(cls, payload: dict) -> Calibrator:
        method = payload.get("method")
        needed = {"platt": ("slope", "intercept"), "isotonic": ("x", "y")}.get(method)
        if needed is None:
            raise CalibrationError(f"calibrator method {method!r} is not one of {METHODS}")
        missing = [k for k in needed if k not in payload]
        if missing:
            raise CalibrationError(f"{method} calibrator lacks {missing}")
        return cls(method, {k: payload[k] for k in needed})
