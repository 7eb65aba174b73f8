"""Uniform samples of streams of unknown length, in bounded memory (reservoirs).

Li's algorithm L: once a reservoir is full it draws which offer it keeps next, so the
offers it does not keep cost nothing one by one; offers come in batches, and a batch
costs a draw per value kept. What is kept is held in typed arrays (8 bytes a number
rather than some 40 as Python objects), turned into tuples once, at the end.
"""

from __future__ import annotations

import math
import random
from array import array
from collections.abc import Sequence
from itertools import chain

from synthpay.calibrate.profile import Sample


class Picker:
    """Which offers a reservoir of ``size`` keeps, and in which of its slots (algorithm L)."""

    __slots__ = ("_log_w", "_next", "_rng", "seen", "size")

    def __init__(self, size: int, rng: random.Random) -> None:
        if size < 1:
            raise ValueError(f"a reservoir holds at least one value, not {size}")
        self.size = size
        self._rng = rng
        self.seen = 0
        self._log_w = 0.0
        self._next = size - 1  # the index of the next offer kept once full (after _advance)

    def kept(self, offers: int) -> tuple[int, list[tuple[int, int]]]:
        """Count ``offers`` more: how many of the first are appended, then which (index in the batch) replace which slot."""
        lo = self.seen
        hi = self.seen = lo + offers
        size = self.size
        appended = 0
        if lo < size:
            appended = min(hi, size) - lo
            if hi < size:
                return appended, []
            self._advance()  # just filled: draw the first offer kept after
        replaced = []
        while self._next < hi:
            replaced.append((self._next - lo, self._rng.randrange(size)))
            self._advance()
        return appended, replaced

    def _advance(self) -> None:
        rng = self._rng
        # 1 - random() is in (0, 1]: its log is finite.
        self._log_w += math.log(1.0 - rng.random()) / self.size
        w = math.exp(self._log_w)
        self._next += (math.floor(math.log(1.0 - rng.random()) / math.log1p(-w)) if w < 1.0 else 0) + 1


class Reservoir:
    """At most ``size`` of the values offered, each offered value equally likely to be kept."""

    __slots__ = ("_picker", "starts", "values")

    def __init__(self, size: int, rng: random.Random) -> None:
        self._picker = Picker(size, rng)
        self.values = array("d")
        self.starts = array("q")

    @property
    def seen(self) -> int:
        return self._picker.seen

    def offer(self, values: Sequence[float], starts: Sequence[int]) -> None:
        """Offer values, each from the payment that started at the same index of ``starts``."""
        appended, replaced = self._picker.kept(len(values))
        if appended:
            self.values.extend(values[:appended])
            self.starts.extend(starts[:appended])
        for i, slot in replaced:
            self.values[slot] = values[i]
            self.starts[slot] = starts[i]

    def sample(self) -> Sample:
        """What was kept, with how many values were offered."""
        return Sample(self.seen, tuple(self.values), tuple(self.starts))


class Rows:
    """At most ``size`` of the rows offered (each ``width`` integers), each row equally likely kept.

    The payments of one path, as their event times: one offer per payment, from which the
    samples of every step's gap and offset are taken at the end, each uniform over the
    path's payments as a reservoir per step would be, at a fraction of the cost.
    """

    __slots__ = ("_picker", "rows", "width")

    def __init__(self, width: int, size: int, rng: random.Random) -> None:
        self._picker = Picker(size, rng)
        self.width = width
        self.rows = array("q")

    @property
    def seen(self) -> int:
        return self._picker.seen

    def offer(self, rows: Sequence[Sequence[int]]) -> None:
        appended, replaced = self._picker.kept(len(rows))
        if appended:
            self.rows.extend(chain.from_iterable(rows[:appended]))
        width = self.width
        for i, slot in replaced:
            self.rows[slot * width : (slot + 1) * width] = array("q", rows[i])

    def column(self, k: int) -> tuple[int, ...]:
        """The ``k``-th integer of every row kept."""
        return tuple(self.rows[k :: self.width])
