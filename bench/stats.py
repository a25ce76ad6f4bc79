"""The few statistics the report needs."""

import math
from statistics import median


def percentile(values: list[float], share: float) -> float:
    """The nearest-rank percentile: the smallest value with at least `share` of them at or below."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def median_of(values: list[float]) -> float:
    return median(values) if values else math.nan
