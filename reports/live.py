"""Live A/B (`siteward compare --live`): B against A, measured alternately round by round. Pure.

Both deployments are measured in the same job, A then B, then B then A, and so on; a
round's drift (the machine slowing down for a minute) hits both sides, so the per-round
differences cancel it (stats.paired_rounds_test). The findings are those of
reports/regressions.py: Benjamini-Hochberg q-values over all metrics and the same effect
floor. The alternation is the confirmation: no re-measurement, no stricter bar.

Looking at the data after every round and stopping at the first "significant" one would
inflate the false alarm rate (each look is another chance: 12 % of simulated A/A sequences
instead of 5 %). The runner looks only at rounds 4, 8, 12, ... and at the cap (tagged on
every record as `round_cap`), and every look uses `fdr` divided by the number of looks
planned (Bonferroni over the looks): tests/reports/test_live.py keeps A/A sequences with
optional stopping under 5 % false alarms.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import replace

from siteward.records import Measurement

from reports import stats
from reports.regressions import (
    Comparison, MetricKey, Settings, base_comparison, decide_states, is_confirmation, is_generator_health,
)

ROUND_TAG = "round"
CAP_TAG = "round_cap"
FIRST_LOOK = 4
LOOK_EVERY = 4


def is_look(round_number: int, cap: int) -> bool:
    """Whether the runner analyses after this round (and may stop)."""
    return round_number == cap or (round_number >= FIRST_LOOK and (round_number - FIRST_LOOK) % LOOK_EVERY == 0)


def looks_planned(cap: int) -> int:
    """How many analyses a live comparison of at most `cap` rounds makes."""
    return sum(is_look(r, cap) for r in range(1, cap + 1))


def by_round(measurements: Iterable[Measurement]) -> dict[MetricKey, dict[str, list[float]]]:
    """key -> round -> samples, for the measurements of a live A/B run (tagged with their round)."""
    found: dict[MetricKey, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for m in measurements:
        if ROUND_TAG in m.tags and not is_confirmation(m):
            found[(m.stage, m.subject, m.metric)][m.tags[ROUND_TAG]] += m.samples
    return found


def is_live(measurements: Sequence[Measurement]) -> bool:
    return bool(measurements) and all(ROUND_TAG in m.tags for m in measurements)


def compare_paired(baseline: Sequence[Measurement], current: Sequence[Measurement],
                   settings: Settings) -> list[Comparison]:
    """B's metrics against A's, round by round, with BH q-values over all of them (at fdr / looks)."""
    a_rounds, b_rounds = by_round(baseline), by_round(current)
    caps = [int(m.tags[CAP_TAG]) for m in current if m.tags.get(CAP_TAG, "").isdigit()]
    cap = max(caps) if caps else len({r for rounds in b_rounds.values() for r in rounds})
    settings = replace(settings, fdr=settings.fdr / looks_planned(cap))
    first = {(m.stage, m.subject, m.metric): m for m in current}
    out: list[Comparison] = []
    tested: list[tuple[Comparison, stats.TestResult]] = []
    for key, rounds in b_rounds.items():
        m = first[key]
        a_runs = [stats.finite(v) for v in a_rounds.get(key, {}).values()]
        samples = [v for values in rounds.values() for v in values]
        if is_generator_health(*key):
            out.append(base_comparison(key, m, "excluded", a_runs, samples, "paired-rounds", "the load generator's health"))
            continue
        if key not in a_rounds:
            out.append(base_comparison(key, m, "new", a_runs, samples, "paired-rounds", "not measured on A"))
            continue
        try:
            result = stats.paired_rounds_test(a_rounds[key], rounds, unit=m.unit, higher_is_better=m.higher_is_better)
        except ValueError as exc:
            out.append(base_comparison(key, m, "insufficient", a_runs, samples, "paired-rounds", str(exc)))
            continue
        comparison = base_comparison(key, m, "unchanged", a_runs, samples, "paired-rounds", "", result)
        tested.append((replace(comparison, baseline_runs=len(a_runs)), result))
    return out + decide_states(tested, settings)


def undecided(comparisons: Iterable[Comparison]) -> list[Comparison]:
    """Live A/B stops when none is left: each tested metric is either a significant change, or
    its confidence interval lies within +-floor (equal for every purpose that counts)."""
    left = []
    for c in comparisons:
        if c.state not in ("unchanged",) or c.ci_low is None or c.floor is None:
            continue
        if not (-c.floor <= c.ci_low and c.ci_high <= c.floor):
            left.append(c)
    return left
