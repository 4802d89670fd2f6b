"""The demo's data as Parquet files, for walking through the story with the CLI.

    python -m mlcore.demo.files flights-data

writes, into the folder:

- ``weather.parquet``, ``planes.parquet``, ``origin_delays.parquet`` and
  ``carrier_delays.parquet``: what each feature view ingests, every event up
  to the end of the first production week (9 September 2013);
- ``training.parquet``: the entity rows of the January-August flights, with
  their label ``delayed`` and entity timestamp ``features_at``;
- ``week1.parquet`` and ``week1_labels.parquet``: the first production week's
  flights (2-8 September, without the label) and, separately, their labels.

See docs/getting-started.md for the commands that use them.
"""

from __future__ import annotations

import sys
from pathlib import Path

__all__ = ["write_files"]


def write_files(folder: str | Path) -> dict[str, int]:
    """Write the walkthrough's files into ``folder`` (created); return rows per file name."""
    import datetime as dt

    import polars as pl

    from mlcore.demo import data, story, traffic

    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    flights = data.read_flights()
    week_end = story.PRODUCTION_START + dt.timedelta(weeks=1)
    frames = {"planes": data.read_planes()}
    for view, (column, events) in story.feature_events(flights, data.read_weather()).items():
        frames[view] = events.filter(pl.col(column) < week_end)
    rows = traffic.entity_rows(flights)
    frames["training"] = rows.filter(pl.col("scheduled_departure") < story.TRAIN_END)
    week = rows.filter(
        pl.col(traffic.TIMESTAMP).is_between(story.PRODUCTION_START, week_end, closed="left")
    )
    frames["week1"] = week.drop(traffic.LABEL)
    frames["week1_labels"] = week.select(traffic.KEY, traffic.LABEL)
    for name, frame in frames.items():
        frame.write_parquet(out / f"{name}.parquet")
    return {f"{name}.parquet": frame.height for name, frame in frames.items()}


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python -m mlcore.demo.files FOLDER")
    for file, count in write_files(sys.argv[1]).items():
        print(f"{count:>8}  {Path(sys.argv[1]) / file}")
