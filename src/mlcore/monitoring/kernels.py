"""Numba kernels that summarise one numeric column in one pass over its buffer.

The kernels read the float64 data buffer and the Arrow validity bitmap of a
column directly (no pandas, no Python per row) and *add* into arrays owned by
the caller, so that a chunked column is a loop over its chunks and summaries
merge by addition.

Where a value goes
------------------
A column's layout (see :mod:`mlcore.monitoring.layout`) fixes the reference
minimum ``lo`` and maximum ``hi``, a robust range ``[a, b]`` inside them and a
uniform *fine grid* of ``L`` slots over ``[a, b]``. A value's *fine index* is

====================  ===============================================
fine index            values
====================  ===============================================
0                     below the reference range (``x < lo``, incl. -inf)
1                     lower tail, ``lo <= x < a``
2 + floor((x-a)*inv)  the fine slot of ``a <= x <= b`` (``L + 1`` slots)
L + 3                 upper tail, ``b < x <= hi``
L + 4                 above the reference range (``x > hi``, incl. +inf)
====================  ===============================================

The slot formula *is* the definition of membership: bin and cell edges are fine
slot boundaries, so a value's bin is exact and reproducible from ``(a, inv)``
without comparing it to any edge. Finding it costs a subtraction and a
multiplication; there is no search. ``slot_to_cell`` then folds fine indices
into the cells a summary stores. Large chunks are counted into a scratch array
of fine counts and folded once at the end (a scatter into a small array is the
fastest histogram there is); small chunks go straight through the map.

Special values, the same everywhere in monitoring:

* a null (validity bit 0) or a NaN is *missing*: counted in ``specials`` and
  in no cell;
* ``-inf`` / ``+inf`` are out of range: counted in ``specials`` *and* in fine
  index 0 / ``L + 4``, but not in the moments or ``tails``, which cover finite
  values only;
* ``tails`` accumulates ``sum(a - x)`` over finite ``x < a`` and ``sum(x - b)``
  over finite ``x > b``, which keeps Wasserstein distances exact in the tails.

Every kernel is ``@njit(cache=True, nogil=True)``: compiled once, cached on disk
beside this file, and run with the GIL released so that columns (or pieces of
one long column) are summarised in parallel threads.
"""

from __future__ import annotations

import numba
import numpy as np

from mlcore.monitoring import moments as _moments
from mlcore.monitoring.moments import MOMENTS, new_moments

__all__ = [
    "BLOCK",
    "MOMENTS",
    "SPECIALS",
    "TAILS",
    "count_column",
    "finite_range",
    "merge_moments",
    "new_moments",
]

#: Values per block: a block is still in L1 cache when its moments are taken,
#: so the column is read from memory once.
BLOCK = 2048

#: Values counted into the int32 scratch between two folds: no slot can overflow.
FOLD_EVERY = 1 << 30

#: Slots of ``specials``: nulls, NaNs, -inf, +inf.
SPECIALS = ("null", "nan", "neg_inf", "pos_inf")
#: Slots of ``tails``: sum of ``a - x`` below the robust range, of ``x - b`` above.
TAILS = ("lower", "upper")

# Blocks known to hold only finite values may use every fast-math flag: with no
# NaN or infinity present, the flags cannot change a result. Finiteness is
# always established by code compiled without them.
_FAST_FINITE = True
_REASSOC = {"reassoc", "contract"}


@numba.njit(cache=True, nogil=True, inline="always")
def _is_valid(validity, offset, i):  # type: ignore[no-untyped-def]
    bit = offset + i
    return (validity[bit >> 3] >> (bit & 7)) & 1 == 1


# The same function the Python side merges summaries with, compiled for the kernels.
merge_moments = numba.njit(cache=True, nogil=True)(_moments.merge_moments)


@numba.njit(cache=True, nogil=True, fastmath=_FAST_FINITE)
def _fast_sums(block):  # type: ignore[no-untyped-def]
    # Kernels take block *views* indexed from 0: with a non-negative index known
    # to the compiler, the loops vectorise.
    total = 0.0
    lo = block[0]
    hi = block[0]
    for i in range(block.shape[0]):
        x = block[i]
        total += x
        lo = np.minimum(lo, x)
        hi = np.maximum(hi, x)
    return total, lo, hi


@numba.njit(cache=True, nogil=True, fastmath=_FAST_FINITE)
def _fast_m2(block, mean):  # type: ignore[no-untyped-def]
    m2 = 0.0
    for i in range(block.shape[0]):
        d = block[i] - mean
        m2 += d * d
    return m2


@numba.njit(cache=True, nogil=True)
def _finite_block_moments(block, moments):  # type: ignore[no-untyped-def]
    """Moments of a block known to be all finite (the caller checked, without fast-math)."""
    # Two passes (mean, then squared deviations) keep the variance exact to
    # rounding however far the data sits from zero; the block is in cache.
    total, lo, hi = _fast_sums(block)
    n = block.shape[0]
    mean = total / n
    merge_moments(moments, n, mean, _fast_m2(block, mean), lo, hi)


@numba.njit(cache=True, nogil=True, fastmath=_REASSOC)
def _masked_block_moments(block, validity, offset, moments):  # type: ignore[no-untyped-def]
    has_validity = validity.shape[0] > 0
    n = 0
    total = 0.0
    lo = np.inf
    hi = -np.inf
    for i in range(block.shape[0]):
        x = block[i]
        # x - x is 0.0 for finite x, NaN for NaN and ±inf.
        if x - x == 0.0 and (not has_validity or _is_valid(validity, offset, i)):
            n += 1
            total += x
            lo = min(lo, x)
            hi = max(hi, x)
    if n == 0:
        return
    mean = total / n
    m2 = 0.0
    for i in range(block.shape[0]):
        x = block[i]
        if x - x == 0.0 and (not has_validity or _is_valid(validity, offset, i)):
            d = x - mean
            m2 += d * d
    merge_moments(moments, n, mean, m2, lo, hi)


@numba.njit(cache=True, nogil=True)
def _all_finite(block):  # type: ignore[no-untyped-def]
    # No fast-math here: this check is what licenses fast-math on the block.
    bad = 0
    for i in range(block.shape[0]):
        x = block[i]
        bad += x - x != 0.0
    return bad == 0


@numba.njit(cache=True, nogil=True)
def finite_range(values: np.ndarray, validity: np.ndarray, offset: int, moments: np.ndarray):  # type: ignore[no-untyped-def]
    """Fold the finite, valid values of a chunk into ``moments``.

    ``validity`` is the Arrow validity bitmap (empty when nothing is null) and
    ``offset`` the bit offset of ``values[0]`` in it. Used to find a reference
    column's range before its layout exists.
    """
    n = values.shape[0]
    has_validity = validity.shape[0] > 0
    for start in range(0, n, BLOCK):
        block = values[start : min(start + BLOCK, n)]
        if not has_validity and _all_finite(block):
            _finite_block_moments(block, moments)
        else:
            _masked_block_moments(block, validity, offset + start, moments)


@numba.njit(cache=True, nogil=True, inline="always")
def _fine_index(x, lo, hi, a, b, inv, last):  # type: ignore[no-untyped-def]
    """Fine index of ``x`` (see the module docstring); -1 for NaN."""
    if x >= a and x <= b:
        return int((x - a) * inv) + 2
    if x < a:
        return 1 if x >= lo else 0
    if x > b:
        return last - 1 if x <= hi else last
    return -1


@numba.njit(cache=True, nogil=True, inline="always")
def _note_unusual(x, k, a, b, specials, tails):  # type: ignore[no-untyped-def]
    """Book a tail or out-of-range value; return 1 if it is infinite."""
    if x == -np.inf:
        specials[2] += 1
        return 1
    if x == np.inf:
        specials[3] += 1
        return 1
    if k < 2:
        tails[0] += a - x
    else:
        tails[1] += x - b
    return 0


@numba.njit(cache=True, nogil=True)
def _count_block(block, validity, offset, lo, hi, a, b, inv, last, fine, specials, tails):  # type: ignore[no-untyped-def]
    """Count a block into fine slots.

    Returns how many values were not finite, and the sum, minimum and maximum
    of the valid values: the loop is bound by the scatter into ``fine``, so
    these come almost free here and save a pass for the moments. They are
    only meaningful when no value was unusual.
    """
    unusual = 0
    total = 0.0
    least = np.inf
    most = -np.inf
    # Two copies of the loop, so that the common no-null case tests nothing
    # but the robust range on its hot path (one loop with a loop-invariant
    # validity test measured ~5% slower single-threaded).
    if validity.shape[0] == 0:
        for i in range(block.shape[0]):
            x = block[i]
            total += x
            least = min(least, x)
            most = max(most, x)
            if x >= a and x <= b:
                fine[np.uint64(int((x - a) * inv) + 2)] += 1
                continue
            k = _fine_index(x, lo, hi, a, b, inv, last)
            if k < 0:
                specials[1] += 1
                unusual += 1
                continue
            fine[np.uint64(k)] += 1
            unusual += _note_unusual(x, k, a, b, specials, tails)
        return unusual, total, least, most
    for i in range(block.shape[0]):
        if not _is_valid(validity, offset, i):
            specials[0] += 1
            unusual += 1
            continue
        x = block[i]
        total += x
        least = min(least, x)
        most = max(most, x)
        if x >= a and x <= b:
            fine[np.uint64(int((x - a) * inv) + 2)] += 1
            continue
        k = _fine_index(x, lo, hi, a, b, inv, last)
        if k < 0:
            specials[1] += 1
            unusual += 1
            continue
        fine[np.uint64(k)] += 1
        unusual += _note_unusual(x, k, a, b, specials, tails)
    return unusual, total, least, most


@numba.njit(cache=True, nogil=True)
def _map_block(block, validity, offset, lo, hi, a, b, inv, slot_to_cell, cells, specials, tails):  # type: ignore[no-untyped-def]
    """Count a block straight into stored cells; return how many were not finite."""
    unusual = 0
    last = slot_to_cell.shape[0] - 1
    has_validity = validity.shape[0] > 0
    for i in range(block.shape[0]):
        if has_validity and not _is_valid(validity, offset, i):
            specials[0] += 1
            unusual += 1
            continue
        x = block[i]
        k = _fine_index(x, lo, hi, a, b, inv, last)
        if k < 0:
            specials[1] += 1
            unusual += 1
            continue
        if k < 2 or k > last - 2:
            unusual += _note_unusual(x, k, a, b, specials, tails)
        cells[slot_to_cell[k]] += 1
    return unusual


@numba.njit(cache=True, nogil=True)
def count_column(  # type: ignore[no-untyped-def]
    values: np.ndarray,
    validity: np.ndarray,
    offset: int,
    bounds: np.ndarray,
    slot_to_cell: np.ndarray,
    scratch: np.ndarray,
    cells: np.ndarray,
    specials: np.ndarray,
    moments: np.ndarray,
    tails: np.ndarray,
    with_moments: bool = True,
):
    """Add one column chunk to a numeric summary, in place.

    Parameters
    ----------
    values
        float64 data of the chunk (its Arrow slice, or a converted copy).
    validity
        Arrow validity bitmap as uint8, or an empty array when nothing is null.
    offset
        Bit offset of ``values[0]`` in ``validity``.
    bounds
        ``[lo, hi, a, b, inv]``: reference range, robust range, fine slots per
        unit of value (0 for a constant column).
    slot_to_cell
        Stored cell of each fine index; ``L + 5`` entries.
    scratch
        int32 work array of ``L + 5`` fine counts, zero on entry and on exit;
        used for chunks long enough that counting fine slots and folding them
        once beats a lookup per value. int32 rather than int64 because half
        the bytes keeps more of it in L1 cache; it is folded every
        ``FOLD_EVERY`` values, so no count can overflow.
    cells, specials, moments, tails
        Accumulators: stored cell counts, null / NaN / -inf / +inf counts,
        moments of finite values, summed distances beyond the robust range.
    with_moments
        False leaves ``moments`` alone (a reference whose moments are known).
    """
    n = values.shape[0]
    lo, hi, a, b, inv = bounds[0], bounds[1], bounds[2], bounds[3], bounds[4]
    last = slot_to_cell.shape[0] - 1
    # A scratch pass touches all L + 5 fine counts once more to fold them.
    use_scratch = n >= 2 * slot_to_cell.shape[0]
    for start in range(0, n, BLOCK):
        block = values[start : min(start + BLOCK, n)]
        total, least, most = 0.0, 0.0, 0.0
        if use_scratch:
            unusual, total, least, most = _count_block(
                block, validity, offset + start, lo, hi, a, b, inv, last, scratch, specials, tails
            )
        else:
            unusual = _map_block(
                block,
                validity,
                offset + start,
                lo,
                hi,
                a,
                b,
                inv,
                slot_to_cell,
                cells,
                specials,
                tails,
            )
        if use_scratch and (start + BLOCK) % FOLD_EVERY == 0:
            _fold(scratch, slot_to_cell, cells)
        if not with_moments:
            continue
        if unusual == 0 and use_scratch:
            mean = total / block.shape[0]
            merge_moments(moments, block.shape[0], mean, _fast_m2(block, mean), least, most)
        elif unusual == 0:
            _finite_block_moments(block, moments)
        else:
            _masked_block_moments(block, validity, offset + start, moments)
    if use_scratch:
        _fold(scratch, slot_to_cell, cells)


@numba.njit(cache=True, nogil=True)
def _fold(scratch, slot_to_cell, cells):  # type: ignore[no-untyped-def]
    """Add the fine counts in ``scratch`` to their stored cells and zero them."""
    for k in range(scratch.shape[0]):
        cells[slot_to_cell[k]] += scratch[k]
        scratch[k] = 0
