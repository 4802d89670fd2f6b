"""Model artifacts: a fitted model to bytes and back, with no arbitrary code on load.

scikit-learn estimators and Pipelines are stored with skops, whose loader
builds objects from a JSON description and refuses any type it has not been
told to trust, unlike pickle which runs whatever the file says. Other
frameworks plug in as :class:`Serializer` objects keyed by format.

Trust. :func:`deserialize` trusts what skops trusts by default (scikit-learn's
public estimators, numpy arrays and dtypes, numpy/scipy ufuncs, builtin
containers) plus :data:`MLCORE_TRUSTED`, a few types that standard Pipelines
need and whose loading and use cannot touch memory out of bounds. It keeps
skops' refusal of tree node storage (``sklearn.tree._tree.Tree``, the
HistGradientBoosting ``TreePredictor``, the neighbours' ``KDTree``...): their
arrays hold raw indices that scikit-learn follows without bounds checks, so a
crafted file can crash the scoring process. Such models load when the caller
names those types in ``trusted`` after deciding to trust the artifact's origin;
:attr:`SerializedModel.untrusted_types` lists them at serialisation time so that
the decision can be made (and recorded) when a version is reviewed.

Examples
--------
>>> import numpy as np
>>> from sklearn.linear_model import LogisticRegression
>>> X = np.array([[0.0], [1.0], [2.0], [3.0]])
>>> model = LogisticRegression().fit(X, [0, 0, 1, 1])
>>> artifact = serialize(model)
>>> artifact.format, artifact.estimator_type, artifact.class_name
('skops', 'classifier', 'sklearn.linear_model._logistic.LogisticRegression')
>>> artifact.untrusted_types
()
>>> deserialize(artifact.data, artifact.format).predict(X).tolist()
[0, 0, 1, 1]
"""

from __future__ import annotations

import io
import json
import sys
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from mlcore import settings
from mlcore.errors import InvalidInput, NotFound, UntrustedArtifact, did_you_mean
from mlcore.registry.lineage import package_versions

__all__ = [
    "MLCORE_TRUSTED",
    "SerializedModel",
    "Serializer",
    "SkopsSerializer",
    "UntrustedArtifact",
    "deserialize",
    "estimator_type",
    "register_serializer",
    "reproducible",
    "serialize",
    "serializer_for",
    "trusted_names",
]

#: Types trusted on load beyond skops' defaults. Each is a plain data holder or a
#: pure-Python validator: constructing and using it indexes memory only through
#: bounds-checked numpy operations.
MLCORE_TRUSTED: tuple[str, ...] = (
    "numpy.dtype",  # dtype= parameters (OneHotEncoder, KBinsDiscretizer), rebuilt from an .npy header
    "functools.partial",  # only wraps a callable that is audited on its own
    "sklearn.utils.validation.check_array",  # HistGradientBoosting's categorical preprocessor
    "sklearn.calibration._CalibratedClassifier",
    "sklearn.calibration._SigmoidCalibration",
)

_IMPORTABLE = (
    "Define the functions and classes the model uses at module level in an importable module"
)


@dataclass(frozen=True)
class SerializedModel:
    """A model as bytes plus what is needed to load and describe it.

    ``untrusted_types`` are the types :func:`deserialize` will refuse unless the
    caller names them in ``trusted`` (empty for most linear models and
    Pipelines; tree storage for tree ensembles): show them to the reviewer.
    """

    data: bytes = field(repr=False)
    format: str
    framework: str
    framework_version: str | None
    library_versions: dict[str, str | None]
    estimator_type: str
    class_name: str
    untrusted_types: tuple[str, ...] = ()

    @property
    def size(self) -> int:
        return len(self.data)

    def metadata(self) -> dict[str, Any]:
        """Everything but the bytes, JSON-ready, for the catalog."""
        return {
            "format": self.format,
            "framework": self.framework,
            "framework_version": self.framework_version,
            "library_versions": dict(self.library_versions),
            "estimator_type": self.estimator_type,
            "class_name": self.class_name,
            "untrusted_types": list(self.untrusted_types),
            "size": self.size,
        }


class Serializer:
    """How one framework's models become bytes and come back.

    Subclass it, set ``format``, ``framework`` and ``packages`` (distributions
    whose versions to record, the framework's own first), implement the four
    methods, and pass an instance to :func:`register_serializer`.
    """

    format: str = ""
    framework: str = ""
    packages: tuple[str, ...] = ()

    def accepts(self, model: object) -> bool:
        """True when this serializer knows how to store ``model``."""
        raise NotImplementedError

    def dumps(self, model: object) -> bytes:
        raise NotImplementedError

    def untrusted_types(self, data: bytes, trusted: Sequence[str] = ()) -> list[str]:
        """Types in ``data`` that loading would construct and nobody trusts."""
        raise NotImplementedError

    def loads(self, data: bytes, trusted: Sequence[str], max_bytes: int) -> object:
        """Rebuild the model, raising :class:`UntrustedArtifact` before constructing
        anything if :meth:`untrusted_types` is not empty."""
        raise NotImplementedError


class SkopsSerializer(Serializer):
    """scikit-learn estimators and Pipelines, stored with ``skops.io``."""

    format = "skops"
    framework = "scikit-learn"
    packages = ("scikit-learn", "numpy", "scipy", "skops")

    def accepts(self, model: object) -> bool:
        from sklearn.base import BaseEstimator

        return isinstance(model, BaseEstimator)

    def dumps(self, model: object) -> bytes:
        import skops.io
        from sklearn.exceptions import NotFittedError
        from sklearn.utils.validation import check_is_fitted

        try:
            check_is_fitted(model)
        except NotFittedError:
            raise InvalidInput(
                f"cannot serialise an unfitted {type(model).__name__}",
                hint="Fit the model before registering it",
            ) from None
        try:
            data = skops.io.dumps(model)
        except TypeError as exc:  # skops' UnsupportedTypeException
            raise InvalidInput(
                f"cannot serialise {type(model).__name__} with skops: {exc}", hint=_IMPORTABLE
            ) from None
        # skops stores functions and classes by module and name; one that another
        # process cannot import (a lambda, a local function, anything in __main__)
        # would give an artifact that never loads, so refuse it now.
        for name in skops.io.get_untrusted_types(data=data):
            module, _, attr = name.rpartition(".")
            if module == "__main__" or getattr(sys.modules.get(module), attr, None) is None:
                raise InvalidInput(
                    f"cannot serialise {type(model).__name__}: it uses {name}, "
                    "which another process cannot import",
                    hint=_IMPORTABLE,
                )
        return reproducible(data)

    def untrusted_types(self, data: bytes, trusted: Sequence[str] = ()) -> list[str]:
        import skops.io

        try:
            found = skops.io.get_untrusted_types(data=data)
        except Exception as exc:  # a malformed schema fails in many ways; all mean "bad file"
            raise _malformed(exc) from exc
        return sorted(set(found) - set(MLCORE_TRUSTED) - set(trusted))

    def loads(self, data: bytes, trusted: Sequence[str], max_bytes: int) -> object:
        import skops.io

        _check_unpacked_size(data, max_bytes)
        refused = self.untrusted_types(data, trusted)
        if refused:
            raise UntrustedArtifact(refused)
        try:
            return skops.io.loads(data, trusted=[*MLCORE_TRUSTED, *trusted])
        except Exception as exc:
            raise _malformed(exc) from exc


def _check_unpacked_size(data: bytes, max_bytes: int) -> None:
    # The sizes the archive declares bound what unpacking allocates: refuse zip bombs up front.
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
    except zipfile.BadZipFile as exc:
        raise _malformed(exc) from None
    if unpacked > max_bytes:
        raise _oversized(unpacked, max_bytes, "unpacked")


def _malformed(exc: Exception) -> InvalidInput:
    if isinstance(exc, zipfile.BadZipFile):
        return InvalidInput(
            "artifact is not a readable skops file: not a zip archive (truncated, damaged, "
            "or another format such as pickle, which is never accepted)",
            hint="Serialise the model with mlcore or skops.io.dump",
        )
    return InvalidInput(
        f"artifact could not be loaded: {type(exc).__name__}: {exc}",
        hint="It is damaged or was written by an incompatible version; re-serialise the model",
    )


def _max_bytes(given: int | None) -> int:
    return int(settings.get("max_artifact_bytes")) if given is None else given


def _oversized(size: int, max_bytes: int, what: str) -> InvalidInput:
    return InvalidInput(
        f"artifact is too large: {size:,} bytes {what}, the limit is {max_bytes:,}",
        hint="Raise max_bytes (or MLCORE_MAX_ARTIFACT_BYTES) if this size is expected",
        field="max_bytes",
    )


_SERIALIZERS: dict[str, Serializer] = {}


def register_serializer(serializer: Serializer, *, replace: bool = False) -> None:
    """Make ``serializer`` available under its ``format`` name.

    Serializers are consulted in registration order by :func:`serialize`;
    ``replace=True`` swaps the one registered under the same format.
    """
    if not serializer.format:
        raise InvalidInput("a serializer needs a non-empty format name", field="format")
    if serializer.format in _SERIALIZERS and not replace:
        raise InvalidInput(
            f"a serializer for format '{serializer.format}' is already registered",
            hint="Pass replace=True to swap it",
            field="format",
        )
    _SERIALIZERS[serializer.format] = serializer


register_serializer(SkopsSerializer())


def serializer_for(model: object) -> Serializer:
    """The first registered serializer that accepts ``model``."""
    for serializer in _SERIALIZERS.values():
        if serializer.accepts(model):
            return serializer
    kind = type(model)
    raise InvalidInput(
        f"no serializer for objects of type {kind.__module__}.{kind.__qualname__}",
        hint=(
            "Pass a fitted scikit-learn estimator or Pipeline, or register a Serializer "
            "for this type with mlcore.registry.artifacts.register_serializer"
        ),
    )


def _serializer(format: str) -> Serializer:
    try:
        return _SERIALIZERS[format]
    except KeyError:
        hint = did_you_mean(format, _SERIALIZERS, f"Known formats: {', '.join(_SERIALIZERS)}")
        raise NotFound("artifact format", format, hint=hint) from None


def estimator_type(model: object) -> str:
    """What a model predicts: classifier, regressor, clusterer, outlier_detector,
    transformer (no predict, only transform) or estimator (anything else).

    >>> from sklearn.preprocessing import StandardScaler
    >>> estimator_type(StandardScaler())
    'transformer'
    """
    kind = None
    try:
        from sklearn.utils import get_tags

        kind = get_tags(model).estimator_type
    except (TypeError, AttributeError, ValueError):
        kind = getattr(model, "_estimator_type", None)
    if kind:
        return str(kind)
    return "transformer" if hasattr(model, "transform") else "estimator"


def serialize(model: object, *, max_bytes: int | None = None) -> SerializedModel:
    """Turn a fitted model into bytes with the serializer that accepts it.

    Parameters
    ----------
    model
        A fitted scikit-learn estimator or Pipeline, or an object a registered
        :class:`Serializer` accepts.
    max_bytes
        Refuse artifacts larger than this (default: the ``max_artifact_bytes``
        setting, 2 GiB).

    Raises
    ------
    InvalidInput
        For objects no serializer accepts, unfitted estimators, objects skops
        cannot store (lambdas), and artifacts over ``max_bytes``.
    """
    limit = _max_bytes(max_bytes)
    serializer = serializer_for(model)
    data = serializer.dumps(model)
    if len(data) > limit:
        raise _oversized(len(data), limit, "serialised")
    versions = package_versions(serializer.packages)
    kind = type(model)
    return SerializedModel(
        data=data,
        format=serializer.format,
        framework=serializer.framework,
        framework_version=versions.get(serializer.packages[0]) if serializer.packages else None,
        library_versions=versions,
        estimator_type=estimator_type(model),
        class_name=f"{kind.__module__}.{kind.__qualname__}",
        untrusted_types=tuple(serializer.untrusted_types(data)),
    )


def deserialize(
    data: bytes,
    format: str = "skops",
    *,
    trusted: Sequence[str | type] | None = None,
    max_bytes: int | None = None,
) -> Any:
    """Rebuild a model from bytes, constructing only trusted types.

    Parameters
    ----------
    data
        The artifact, as returned by :func:`serialize` (or written by ``skops.io.dump``).
    format
        The format it was written in.
    trusted
        Types to trust beyond the defaults, by fully qualified name or as the
        type itself; name only types you have reviewed.
    max_bytes
        Refuse artifacts larger than this, packed or unpacked (default: the
        ``max_artifact_bytes`` setting, 2 GiB).

    Raises
    ------
    UntrustedArtifact
        Listing every type that is neither trusted by default nor in ``trusted``.
    InvalidInput
        For oversized, malformed or non-skops (e.g. pickle) data.
    NotFound
        For an unknown format.
    """
    limit = _max_bytes(max_bytes)
    serializer = _serializer(format)
    if len(data) > limit:
        raise _oversized(len(data), limit, "serialised")
    return serializer.loads(data, trusted_names(trusted), limit)


def trusted_names(trusted: Iterable[str | type] | None) -> list[str]:
    """Types given by name or as the type itself, as the sorted names skops reports.

    >>> from sklearn.tree._tree import Tree
    >>> trusted_names([Tree, "numpy.dtype", Tree])
    ['numpy.dtype', 'sklearn.tree._tree.Tree']
    """
    # module + __name__, as skops names the types it finds
    return sorted(
        {t if isinstance(t, str) else f"{t.__module__}.{t.__name__}" for t in trusted or ()}
    )


def reproducible(data: bytes) -> bytes:
    """skops bytes made reproducible: equal models give equal bytes.

    skops names its entries after ``id()`` of objects and stamps the zip with the
    clock; here ids are renumbered in order of appearance and every entry gets a
    fixed date, so that identical models share one artifact (and one sha256).
    """
    archive = zipfile.ZipFile(io.BytesIO(data))
    renumber: dict[int, int] = {}
    schema = _renumber_ids(json.loads(archive.read("schema.json")), renumber)
    entries = {"schema.json": json.dumps(schema, indent=2).encode()}
    for info in archive.infolist():
        if info.filename != "schema.json":
            stem, _, ext = info.filename.partition(".")
            entries[f"{renumber.get(int(stem), stem)}.{ext}"] = archive.read(info)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_STORED) as target:
        for name in sorted(entries):
            target.writestr(zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0)), entries[name])
    return out.getvalue()


def _renumber_ids(node: Any, renumber: dict[int, int]) -> Any:
    if isinstance(node, list):
        return [_renumber_ids(item, renumber) for item in node]
    if not isinstance(node, dict):
        return node
    result = {}
    for key, value in node.items():
        if key == "__id__" and isinstance(value, int):
            value = renumber.setdefault(value, len(renumber))
        elif key == "file" and isinstance(value, str) and value.partition(".")[0].isdigit():
            stem, _, ext = value.partition(".")
            value = f"{renumber.setdefault(int(stem), len(renumber))}.{ext}"
        result[key] = _renumber_ids(value, renumber)
    return result
