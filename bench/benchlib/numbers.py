"""Numbers: percentiles, summaries, metrics and their targets."""
from __future__ import annotations

import dataclasses
import math
import statistics


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile."""
    s = sorted(values)
    return s[max(0, math.ceil(p / 100 * len(s)) - 1)]


def summary(values: list[float]) -> dict:
    if not values:
        return {"n": 0}
    return {
        "n": len(values),
        "median": statistics.median(values),
        "p90": percentile(values, 90),
        "mean": statistics.fmean(values),
        "min": min(values),
        "max": max(values),
        "stdev": statistics.stdev(values) if len(values) > 1 else 0.0,
    }


@dataclasses.dataclass
class Target:
    # "max": the subject's median at most `value` (in the metric's unit); "ratio": median ratio at
    # most `value`; "vs": the subject's median at most `value` times the median of `other` (a
    # column of the same row, e.g. "asyncio_repl"), not judged when `other` was not measured;
    # "worst_ratio", "worst_vs": the same with the subject's largest sample instead of its median
    # (a row whose samples are one per daemon start: every start must meet it).
    kind: str
    value: float
    text: str  # as printed
    other: str | None = None
    also: "Target | None" = None  # a second condition, both must hold (its text is in `text`)

    def met(self, metric: "Metric") -> bool | None:
        mine = self._met(metric)
        if self.also is None:
            return mine
        theirs = self.also.met(metric)
        if mine is None or theirs is None:
            return mine if theirs is None else theirs
        return mine and theirs

    def _met(self, metric: "Metric") -> bool | None:
        m = metric.median(metric.subject)
        if self.kind.startswith("worst_"):
            v = metric.samples.get(metric.subject)
            m = max(v) if v else None
        if self.kind == "max":
            return None if m is None else m <= self.value
        if self.kind in ("vs", "worst_vs"):
            o = metric.median(self.other)
            return None if m is None or o is None else m <= self.value * o
        b = metric.median(metric.baseline)
        return None if m is None or not b else m / b <= self.value


@dataclasses.dataclass
class Metric:
    key: str  # stable name, for --json
    label: str  # as printed
    unit: str  # "ms", "µs"
    samples: dict[str, list[float]]  # subject name -> samples, in `unit`
    subject: str = "asyncoded"
    baseline: str = "floor"
    target: Target | None = None
    extra: dict = dataclasses.field(default_factory=dict)
    # A subject that was measured but gave no number, and why (printed in its column), e.g.
    # {"ipykernel": "none in 3 s"}.
    missing: dict[str, str] = dataclasses.field(default_factory=dict)

    def median(self, who: str) -> float | None:
        v = self.samples.get(who)
        return statistics.median(v) if v else None

    def ratio(self) -> float | None:
        a, b = self.median(self.subject), self.median(self.baseline)
        return a / b if a is not None and b else None

    def to_json(self) -> dict:
        met = self.target.met(self) if self.target else None
        return {
            "key": self.key,
            "label": self.label,
            "unit": self.unit,
            "subject": self.subject,
            "baseline": self.baseline,
            "stats": {who: summary(v) for who, v in self.samples.items()},
            "ratio": self.ratio(),
            "target": dataclasses.asdict(self.target) if self.target else None,
            "met": met,
            "extra": self.extra,
            "missing": self.missing,
            "samples": self.samples,
        }
