"""The walkthrough's Parquet files, and the first CLI steps of docs/getting-started.md on them."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import polars as pl
import pytest

from mlcore.cli import output
from mlcore.cli.app import main
from mlcore.demo import files, story, traffic

DEMO = Path(story.__file__).parent
WEEK_END = story.PRODUCTION_START + dt.timedelta(weeks=1)


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("flights-data")
    files.write_files(out)
    return out


def test_events_stop_at_the_end_of_the_first_week(folder: Path) -> None:
    for name, column in [
        ("weather", "observed_at"),
        ("origin_delays", "departed_at"),
        ("carrier_delays", "departed_at"),
    ]:
        frame = pl.read_parquet(folder / f"{name}.parquet")
        assert frame[column].max() < WEEK_END
        assert frame[column].min() < dt.datetime(2013, 1, 1, 12, tzinfo=dt.UTC)


def test_the_week_and_its_labels_are_apart(folder: Path) -> None:
    week = pl.read_parquet(folder / "week1.parquet")
    labels = pl.read_parquet(folder / "week1_labels.parquet")
    assert traffic.LABEL not in week.columns
    assert labels.columns == [traffic.KEY, traffic.LABEL]
    assert week[traffic.KEY].to_list() == labels[traffic.KEY].to_list()
    assert week[traffic.TIMESTAMP].is_between(story.PRODUCTION_START, WEEK_END, "left").all()
    training = pl.read_parquet(folder / "training.parquet")
    assert training["scheduled_departure"].max() < story.TRAIN_END
    assert training[traffic.LABEL].null_count() == 0


def _mlcore(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    output.state.__init__()  # type: ignore[misc]
    try:
        main(list(args))
    except SystemExit as exc:
        assert exc.code in (0, None), capsys.readouterr().err
    return capsys.readouterr().out


def test_the_documented_cli_steps_build_the_training_set(
    folder: Path, store_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    at = ["--store", str(store_path)]
    _mlcore(capsys, "init", str(store_path), "--as", "admin")
    _mlcore(capsys, *at, "--as", "admin", "access", "grant", "eli", "data-engineer")
    _mlcore(capsys, *at, "--as", "admin", "access", "grant", "dana", "data-scientist")
    _mlcore(capsys, *at, "--as", "eli", "apply", str(DEMO / "definitions.py"))
    for view in ("weather", "planes", "origin_delays", "carrier_delays"):
        _mlcore(
            capsys, *at, "--as", "eli", "features", "ingest", view, str(folder / f"{view}.parquet")
        )
    out = _mlcore(
        capsys, *at, "--as", "dana", "--json", "features", "history",
        "--entities", str(folder / "week1.parquet"), "--timestamp", "features_at",
        "-f", "weather:*,planes:*,origin_delays:*,carrier_delays:*",
        "-o", str(store_path.parent / "week1_features.parquet"), "--save", "week1",
    )  # fmt: skip
    saved = json.loads(out)
    assert saved["rows"] == pl.read_parquet(folder / "week1.parquet").height
    joined = pl.read_parquet(store_path.parent / "week1_features.parquet")
    assert {"temp", "seats", "origin_delay_mean_3h", "carrier_delay_count_3h"} <= set(
        joined.columns
    )
    assert joined["temp"].null_count() < joined.height * 0.05
