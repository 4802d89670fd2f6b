"""Feature views: the list (searchable by field, tag, owner) and one view in full."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mlcore.tui import viewmodels as vm
from mlcore.tui.data.base import Capabilities

__all__ = ["FeaturesData"]


class FeaturesData(Capabilities):
    def features(self) -> tuple[vm.FeatureViewRow, ...]:
        summary = self._api("features", "summary")()
        specs = {d.name: d.spec for d in self._api("features", "views")()}
        return tuple(_feature_row(s, specs.get(s["view"], {})) for s in summary)

    def feature(self, name: str) -> vm.FeatureDetail:
        """Definition, data, freshness, per-feature statistics, versions and the models using it."""
        about = self._api("features", "describe")(name)
        stats = self._api("features", "stats")(name)
        spec = about["spec"]
        summary = {
            "view": name,
            "version": about["version"],
            "entities": spec["entities"],
            "features": len(spec.get("fields", [])),
            "aggregations": len(spec.get("aggregations", [])),
            "owner": spec.get("owner"),
            "rows": about["data"]["rows"],
            "files": about["data"]["files"],
            "description": spec.get("description", ""),
        }
        described = {f["name"]: f.get("description") or "" for f in spec.get("fields", [])}
        online = about.get("online")
        refs = [f"{name}:{f['name']}" for f in stats["features"]]
        return vm.FeatureDetail(
            row=_feature_row(summary, spec),
            join_keys=tuple(k["name"] for k in spec.get("join_keys", [])),
            event_timestamp=spec.get("event_timestamp", ""),
            ttl_s=None if spec.get("ttl_us") is None else spec["ttl_us"] / 1e6,
            tags=dict(spec.get("tags", {})),
            aggregations=tuple(
                f"{a['name']} = {a['function']}({a['column']}) over {a['window_us'] / 1e6:g} s"
                for a in spec.get("aggregations", [])
            ),
            stats=tuple(
                vm.FeatureStat(
                    f["name"],
                    f["dtype"],
                    described.get(f["name"], ""),
                    f["count"],
                    f["null_share"],
                    f["distinct"],
                    f["min"],
                    f["max"],
                    f["mean"],
                )
                for f in stats["features"]
            ),
            oldest_event=stats.get("oldest_event"),
            newest_event=stats.get("newest_event"),
            freshness_s=stats.get("freshness_s"),
            versions=tuple(
                (v["version"], v["status"], v["created_at"], v["created_by"])
                for v in about.get("versions", [])
            ),
            online=None
            if not online
            else f"version {online['version']} at {online['materialized_at']:%Y-%m-%d %H:%M:%S}",
            datasets=tuple(about.get("datasets", [])),
            used_by=self._part(
                lambda: tuple(
                    f"{m}/{v}" for m, v in self._api("models", "using_features")(refs or [name])
                )
            ),
        )


def _feature_row(summary: Mapping[str, Any], spec: Mapping[str, Any]) -> vm.FeatureViewRow:
    words = [summary["view"], summary.get("owner") or "", summary.get("description") or ""]
    for f in spec.get("fields", []):
        words += [f["name"], f.get("description") or ""]
    words += [a["name"] for a in spec.get("aggregations", [])]
    words += [f"{k}={v}" for k, v in spec.get("tags", {}).items()]
    return vm.FeatureViewRow(
        name=summary["view"],
        version=summary["version"],
        entities=tuple(summary["entities"]),
        features=summary["features"],
        aggregations=summary["aggregations"],
        owner=summary.get("owner"),
        rows=summary["rows"],
        files=summary["files"],
        description=summary.get("description") or "",
        search=" ".join(w for w in words if w),
    )
