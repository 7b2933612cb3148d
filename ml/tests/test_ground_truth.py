"""Ground truth is an explicit input of training: a file (or its folder) or a DataFrame, never looked up.

Without it training compares with nothing, even when a demo's truth lies where the demo writes it; with it,
a missing or malformed truth is a GroundTruthError before anything is fitted or written.
"""

from __future__ import annotations

import json
import shutil

import pandas as pd
import pytest
from typer.testing import CliRunner

from ml.dataset import GROUND_TRUTH_FILE, GroundTruthError, load_ground_truth
from ml.registry import read_registry
from ml.train import train_model
from ml.warehouse import DuckDBWarehouse
from riskmart.cli import app


def _truth_file(settings):
    return settings.truth / GROUND_TRUTH_FILE


def test_a_folder_a_file_and_a_frame_give_the_same_truth(settings):
    from_folder = load_ground_truth(settings.truth)
    from_file = load_ground_truth(_truth_file(settings))
    from_frame = load_ground_truth(pd.read_csv(_truth_file(settings), dtype={"client_id": str}))
    assert list(from_folder.columns) == ["client_id", "feature_date", "truth_probability"]
    assert len(from_folder) > 1000
    pd.testing.assert_frame_equal(from_folder, from_file)
    pd.testing.assert_frame_equal(from_folder, from_frame)
    assert from_folder["feature_date"].dtype == "datetime64[ns]"


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda f: f.drop(columns=["pd_next_60d"]), "lacks the column(s) pd_next_60d"),
        (lambda f: f.iloc[0:0], "holds no rows"),
        (lambda f: f.assign(as_of_date="31/12/2025"), "malformed row(s)"),
        (lambda f: f.assign(pd_next_60d=1.5), "malformed row(s)"),
        (lambda f: f.assign(pd_next_60d="high"), "malformed row(s)"),
    ],
)
def test_a_malformed_truth_says_what_is_wrong(settings, edit, message):
    good = pd.read_csv(_truth_file(settings), dtype={"client_id": str})
    edit(good).to_csv(_truth_file(settings), index=False)
    with pytest.raises(GroundTruthError, match=message.replace("(", r"\(").replace(")", r"\)")) as caught:
        load_ground_truth(settings.truth)
    assert "--truth" in caught.value.hint and "RISKMART_TRUTH" in caught.value.hint
    with pytest.raises(GroundTruthError, match="malformed|lacks|no rows"):
        load_ground_truth(edit(good))


def test_a_truth_that_is_not_a_csv_or_not_there(settings, tmp_path):
    with pytest.raises(GroundTruthError, match="does not exist"):
        load_ground_truth(tmp_path / "nowhere")
    with pytest.raises(GroundTruthError, match="does not exist"):
        load_ground_truth(tmp_path)  # a folder without the file
    _truth_file(settings).write_bytes(b'"unterminated\n\x00\x01')
    with pytest.raises(GroundTruthError):
        load_ground_truth(settings.truth)


def test_without_truth_training_compares_with_nothing_even_when_a_truth_file_exists(settings):
    assert _truth_file(settings).is_file()
    result = train_model(settings)
    assert result.truth is None
    row = read_registry(DuckDBWarehouse(settings.warehouse)).iloc[0]
    assert pd.isna(row["truth_auc"]) and pd.isna(row["truth_n_rows"])


def test_truth_as_a_frame_gives_the_same_comparison_as_the_file(settings):
    from_file = train_model(settings, truth=_truth_file(settings))
    frame = pd.read_csv(_truth_file(settings), dtype={"client_id": str})
    from_frame = train_model(settings, truth=frame)
    assert from_file.truth is not None and from_file.truth["n"] > 0
    assert from_frame.truth == pytest.approx(from_file.truth)


def test_a_missing_truth_fails_before_anything_is_trained_or_written(settings, tmp_path):
    with pytest.raises(GroundTruthError, match="does not exist"):
        train_model(settings, truth=tmp_path / "missing.csv")
    assert not settings.registry_path.exists() or not any(settings.registry_path.iterdir())


def _env(settings, **extra) -> dict[str, str]:
    return {
        "RISKMART_WAREHOUSE": str(settings.warehouse),
        "RISKMART_REGISTRY_DIR": str(settings.registry_path),
        "RISKMART_ML_THREADS": "1",
        **extra,
    }


def test_cli_truth_from_the_option_or_the_environment_and_its_errors(settings, tmp_path):
    runner = CliRunner()
    missing = runner.invoke(app, ["train", "--truth", str(tmp_path / "missing.csv")], env=_env(settings))
    assert missing.exit_code == 2
    output = " ".join(missing.output.split())
    assert "error: ground truth" in output and "does not exist" in output
    assert "what to do: point --truth (or RISKMART_TRUTH)" in output
    assert "Traceback" not in missing.output

    broken = tmp_path / "broken"
    shutil.copytree(settings.truth, broken)
    pd.read_csv(broken / GROUND_TRUTH_FILE).drop(columns=["client_id"]).to_csv(
        broken / GROUND_TRUTH_FILE, index=False
    )
    malformed = runner.invoke(app, ["train"], env=_env(settings, RISKMART_TRUTH=str(broken)))
    assert malformed.exit_code == 2 and "lacks the column(s) client_id" in " ".join(malformed.output.split())

    by_option = runner.invoke(app, ["train", "--json", "--truth", str(settings.truth)], env=_env(settings))
    assert by_option.exit_code == 0, by_option.output
    assert json.loads(by_option.stdout)["truth"]["n"] > 0

    by_env = runner.invoke(app, ["train", "--json"], env=_env(settings, RISKMART_TRUTH=str(settings.truth)))
    assert by_env.exit_code == 0, by_env.output
    assert json.loads(by_env.stdout)["truth"]["n"] > 0

    unset = runner.invoke(app, ["train", "--json"], env=_env(settings))
    assert unset.exit_code == 0, unset.output
    assert json.loads(unset.stdout)["truth"] is None
