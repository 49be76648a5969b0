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
    kind: str  # "max": the subject's median at most `value` (in the metric's unit); "ratio": median ratio at most `value`
    value: float
    text: str  # as printed

    def met(self, metric: "Metric") -> bool | None:
        if self.kind == "max":
            m = metric.median(metric.subject)
            return None if m is None else m <= self.value
        r = metric.ratio()
        return None if r is None else r <= self.value


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
