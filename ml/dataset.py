"""Read the marts the model learns from and is judged against, and split them out of time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import pandas as pd

from ml.warehouse import Warehouse, frame_like_duckdb

TRAINING_SET = "marts.ml_training_set"
CLIENT_FEATURES = "marts.fct_client_features"
RULE_SCORES = "marts.fct_rule_scores"
LABEL = "default_next_60d"
LABEL_HORIZON_DAYS = 60
# The ground truth a demo generator writes (demo/README.md), read only when given to training.
GROUND_TRUTH_FILE = "client_month_pd.csv"
GROUND_TRUTH_COLUMNS = ("client_id", "as_of_date", "pd_next_60d")
GROUND_TRUTH_HINT = (
    "point --truth (or RISKMART_TRUTH) at the client_month_pd.csv that `riskmart demo-data` wrote, or"
    " at its folder; leave it unset to train without a ground-truth comparison"
)


class DatasetError(ValueError):
    """The marts cannot give what training or scoring needs; the message says what is missing."""


class NotEnoughHistoryError(DatasetError):
    """Too few matured feature dates (or one label class only) to train and test out of time."""


class GroundTruthError(ValueError):
    """The ground truth given to evaluate against is missing or not in the generator's layout."""

    def __init__(self, message: str, hint: str) -> None:
        super().__init__(message)
        self.hint = hint


@dataclass(frozen=True)
class OutOfTimeSplit:
    """Rows split by whole feature dates: train < valid < test, never sharing a date."""

    train: pd.DataFrame
    valid: pd.DataFrame
    test: pd.DataFrame

    @staticmethod
    def window(part: pd.DataFrame) -> tuple[date, date]:
        dates = part["feature_date"]
        return dates.min().date(), dates.max().date()

    def summary(self) -> dict[str, object]:
        out: dict[str, object] = {}
        for name, part in (("train", self.train), ("valid", self.valid), ("test", self.test)):
            start, end = self.window(part)
            out[name] = {
                "start": start.isoformat(),
                "end": end.isoformat(),
                "dates": int(part["feature_date"].nunique()),
                "rows": len(part),
                "defaults": int(part[LABEL].sum()),
            }
        return out


def _require_table(warehouse: Warehouse, table: str, needed: list[str]) -> list[str]:
    columns = warehouse.table_columns(table)
    if columns is None:
        raise DatasetError(f"{table} does not exist in the warehouse: run `riskmart build` (dbt) first")
    absent = [c for c in needed if c not in columns]
    if absent:
        raise DatasetError(f"{table} lacks column(s) {', '.join(absent)}")
    return columns


def load_training_set(warehouse: Warehouse, *, as_of: date | None = None) -> pd.DataFrame:
    """Matured, labelled rows not in default. With `as_of`, only labels observable by that date (a guard
    when the warehouse holds data newer than the run's as-of date)."""
    columns = _require_table(warehouse, TRAINING_SET, ["client_id", "feature_date", LABEL])
    sql = f"select * from {TRAINING_SET} where {LABEL} is not null"  # noqa: S608
    params: list[object] = []
    if "in_default_at_feature_date" in columns:
        sql += " and not coalesce(in_default_at_feature_date, false)"
    if as_of is not None:
        sql += " and feature_date <= ?"
        params.append(as_of - timedelta(days=LABEL_HORIZON_DAYS))
    # Through Arrow (frame_like_duckdb: the frame BigQuery's reads give, on DuckDB too): a quarter less CPU
    # than DuckDB's own pandas conversion for 450,000 rows x 60 columns
    frame = frame_like_duckdb(warehouse.read_arrow(sql + " order by feature_date, client_id", params))
    labels = set(frame[LABEL].unique().tolist())
    if not labels <= {0, 1}:
        raise DatasetError(f"{TRAINING_SET}.{LABEL} must be 0 or 1, found {sorted(labels)}")
    frame[LABEL] = frame[LABEL].astype("int8")
    frame["feature_date"] = pd.to_datetime(frame["feature_date"])
    return frame


def load_client_features(warehouse: Warehouse, feature_date: date) -> pd.DataFrame:
    """Every client's features at one feature date (the rows to score)."""
    _require_table(warehouse, CLIENT_FEATURES, ["client_id", "feature_date"])
    frame = warehouse.read(
        f"select * from {CLIENT_FEATURES} where feature_date = ? order by client_id",  # noqa: S608
        [feature_date],
    )
    frame["feature_date"] = pd.to_datetime(frame["feature_date"])
    return frame


def latest_feature_date(warehouse: Warehouse) -> date | None:
    _require_table(warehouse, CLIENT_FEATURES, ["feature_date"])
    value = warehouse.read(f"select max(feature_date) as d from {CLIENT_FEATURES}")["d"].iloc[0]  # noqa: S608
    return None if pd.isna(value) else pd.Timestamp(value).date()


def first_feature_date(warehouse: Warehouse) -> date | None:
    """The first date of the feature history: look-back windows before it are incomplete."""
    _require_table(warehouse, CLIENT_FEATURES, ["feature_date"])
    value = warehouse.read(f"select min(feature_date) as d from {CLIENT_FEATURES}")["d"].iloc[0]  # noqa: S608
    return None if pd.isna(value) else pd.Timestamp(value).date()


def load_rule_scores(warehouse: Warehouse, start: date, end: date) -> pd.DataFrame | None:
    """The rule-based score of every client and date in [start, end]; None when the mart is absent."""
    columns = warehouse.table_columns(RULE_SCORES)
    if columns is None:
        return None
    wanted = [c for c in ("client_id", "feature_date", "rule_score", "rule_probability") if c in columns]
    frame = warehouse.read(
        f"select {', '.join(wanted)} from {RULE_SCORES} where feature_date between ? and ?",  # noqa: S608
        [start, end],
    )
    frame["feature_date"] = pd.to_datetime(frame["feature_date"])
    return frame


def load_ground_truth(truth: Path | pd.DataFrame) -> pd.DataFrame:
    """True default probabilities to judge a model against, as `client_id, feature_date, truth_probability`.

    `truth` is given explicitly, never found: the `client_month_pd.csv` a demo generator wrote (or the
    folder holding it), or a DataFrame with its columns `client_id, as_of_date, pd_next_60d`. A missing
    file, a missing column, a date that is not YYYY-MM-DD or a probability outside [0, 1] (empty is
    allowed) raises GroundTruthError.
    """
    if isinstance(truth, pd.DataFrame):
        frame, where = truth, "the ground-truth frame"
    else:
        path = Path(truth)
        if path.is_dir():
            path = path / GROUND_TRUTH_FILE
        if not path.is_file():
            raise GroundTruthError(f"ground truth {path} does not exist", GROUND_TRUTH_HINT)
        where = f"ground truth {path}"
        try:
            frame = pd.read_csv(path, dtype=str, usecols=lambda c: c in GROUND_TRUTH_COLUMNS)
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
            raise GroundTruthError(f"{where} is not a readable CSV: {exc}", GROUND_TRUTH_HINT) from None
    missing = [c for c in GROUND_TRUTH_COLUMNS if c not in frame.columns]
    if missing:
        raise GroundTruthError(
            f"{where} lacks the column(s) {', '.join(missing)} (it needs {', '.join(GROUND_TRUTH_COLUMNS)})",
            GROUND_TRUTH_HINT,
        )
    if frame.empty:
        raise GroundTruthError(f"{where} holds no rows", GROUND_TRUTH_HINT)
    as_of = frame["as_of_date"]
    if not pd.api.types.is_datetime64_any_dtype(as_of):
        as_of = pd.to_datetime(as_of.astype(str), format="%Y-%m-%d", errors="coerce")
    probability = pd.to_numeric(frame["pd_next_60d"], errors="coerce")
    bad = (
        frame["client_id"].isna() | as_of.isna() | (frame["pd_next_60d"].notna() & ~probability.between(0, 1))
    )
    if bad.any():
        first = frame[bad].iloc[0]
        raise GroundTruthError(
            f"{where} has {int(bad.sum())} malformed row(s), the first: client_id={first['client_id']!r},"
            f" as_of_date={first['as_of_date']!r}, pd_next_60d={first['pd_next_60d']!r} (a client id, a"
            " YYYY-MM-DD date and a probability in [0, 1] or empty are expected)",
            GROUND_TRUTH_HINT,
        )
    return pd.DataFrame(
        {
            "client_id": frame["client_id"].astype(str).to_numpy(),
            "feature_date": as_of.astype("datetime64[ns]").to_numpy(),
            "truth_probability": probability.to_numpy(dtype="float64"),
        }
    )


def _rows_on(frame: pd.DataFrame, dates: list) -> pd.DataFrame:
    """The rows of `frame` on `dates`, consecutive dates of it: a slice when the frame is in date order (as
    load_training_set reads it; a filter copies every column of ~100 for 250,000 rows), else a filter."""
    days = frame["feature_date"]
    if days.is_monotonic_increasing:
        return frame.iloc[days.searchsorted(min(dates), "left") : days.searchsorted(max(dates), "right")]
    return frame[days.isin(dates)]


def split_out_of_time(frame: pd.DataFrame, *, test_share: float, valid_share: float) -> OutOfTimeSplit:
    """Test on the latest dates holding at least `test_share` of the rows, early-stop and calibrate on the
    dates before them holding at least `valid_share`, train on all older dates."""
    if not (0 < test_share < 1 and 0 < valid_share < 1 and test_share + valid_share < 1):
        raise ValueError(f"shares must be in (0, 1) and sum below 1: test {test_share}, valid {valid_share}")
    counts = frame.groupby("feature_date").size().sort_index()
    if len(counts) < 3:
        raise NotEnoughHistoryError(
            f"{len(counts)} matured feature date(s) in the training set; out-of-time training needs at least 3"
            " (train, validation, test). Build more history: matured dates are 60 days or more before the data"
        )
    total = int(counts.sum())
    newest_first = list(counts.index[::-1])
    test_dates, valid_dates = [], []
    taken = 0
    for day in newest_first:
        if not test_dates or taken < test_share * total:
            test_dates.append(day)
            taken += int(counts[day])
        else:
            break
    taken = 0
    for day in newest_first[len(test_dates) :]:
        if not valid_dates or taken < valid_share * total:
            valid_dates.append(day)
            taken += int(counts[day])
        else:
            break
    train_dates = newest_first[len(test_dates) + len(valid_dates) :]
    if not train_dates:
        raise NotEnoughHistoryError(
            f"{len(counts)} matured feature dates leave none for training after test and validation;"
            " build more history or lower the test and validation shares"
        )
    split = OutOfTimeSplit(
        train=_rows_on(frame, train_dates),
        valid=_rows_on(frame, valid_dates),
        test=_rows_on(frame, test_dates),
    )
    for name, part in (("train", split.train), ("validation", split.valid), ("test", split.test)):
        if part[LABEL].nunique() < 2:
            start, end = split.window(part)
            raise NotEnoughHistoryError(
                f"the {name} dates {start}..{end} hold only one label class ({len(part)} rows);"
                " a model cannot be trained or judged without defaults and non-defaults in each part"
            )
    return split
