"""The statistics of regression findings: pure functions on raw samples (numpy, scipy).

Which test, from measurements of this machine (benchmarks/bench_spread.py: 8 unchanged runs
of the demo shop per family, 2 cores shared with other test suites; log values; "drift" =
SD of the run medians / the SD that within-run sampling alone explains):

    family (samples per run)           within-run SD   run-median SD   drift
    browsers, Chromium desktop (5)*    0.30-0.43       0.28-0.36       1.1-2.0 (fp 1.1-1.5, lcp 2.0)
      (ttfb, response, dcl)            0.52-0.94       0.30-0.60       0.8-1.2
    load routes, 3-4 ms (21-63)        0.15-0.20       0.08-0.13       1.1-2.0 (GET / 2.0)
    Lighthouse desktop (5 runs)        0.08-0.13       0.03-0.08       0.6-1.2 (fcp 0.8, SI 1.2)
    * the same page listed five times: the browsers stage loads each page once per run

Runs differ by at least their sampling noise and up to twice it, and the issue measured
more still (5-second windows of one load run varying 3.1x more than independent requests;
the VM drifting up to 2x in speed over minutes). Drift does not shrink with more samples
while sampling noise does, so a test that pools every sample of ten baseline runs and
treats them as independent (Mann-Whitney) becomes overconfident exactly where samples are
many: an unchanged shop "regresses" whenever the machine is slower than its average (the
issue simulated 16-42 % of A/A runs; tests/reports/test_stats.py shows it at 10 % drift).
And with one page load per page and run, a pooled test has one current sample: it can
never reach significance. The run, not the sample, is the unit of evidence.
The default test is therefore on per-run medians: the current run's median against the
baseline runs' medians, a one-sided prediction t-test

    t = (current - mean(baseline medians)) / (sd(baseline medians) * sqrt(1 + 1/K)),  df = K - 1

on log values for timings and sizes (their changes are relative), raw values otherwise. The
run-to-run SD in its denominator already holds the drift, the within-run sampling noise and
one-sample-per-run metrics alike, so browser timings with one page load per run, Lighthouse
with `runs` samples and load routes with thousands all work, and more samples per run simply
make each run median steadier. Its confidence interval of the difference is the prediction
interval. Mann-Whitney on pooled samples (with a bootstrap CI of the difference of medians)
remains for comparing with one chosen run (`--baseline RUN`, `siteward compare A B`), where
there is no run-to-run spread to estimate.

A run's median is the Harrell-Davis estimate (from 3 samples on): Locust reports whole
milliseconds, and on the demo shop's 2-4 ms routes plain run medians jump between 2 and 3 ms
while the baseline's "never moved": in the first benchmark that made every A/A load run a
false alarm (5-16 metrics each); Harrell-Davis centres, a spread floor of half a step and an
effect floor of one step (1 ms) left 1 of 4, a whole-machine slow-down from 3 to 4 ms.

The false discovery rate over all metrics of a run is held by Benjamini-Hochberg q-values.

What power that leaves (tests/reports/test_stats.py checks these): with 10 baseline runs and
BH over a run's metrics, +30 % (0.26 in log) is caught in >= 95 % of runs when the run-median
SD is about 0.035 or less - Lighthouse's FCP/LCP here (0.03) and a steady load route, not
first paint measured once per run on a busy 2-core machine (0.3, i.e. +30 % is one SD). There
only more samples per run (the browsers stage) or `siteward compare --live`, whose paired
rounds cancel drift but not the per-load noise, can do it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats
from scipy.stats.mstats import hdquantiles

LOG_UNITS = frozenset({"ms", "s", "bytes"})
# The smallest change a unit can show (Lighthouse scores move in hundredths, counts in ones).
RESOLUTION = {"count": 1.0, "score": 0.01}
# A baseline whose run medians never moved (integer milliseconds, a constant score) would
# make any change infinitely significant: its spread counts as at least 1 % (log) or this.
MIN_LOG_SPREAD = 0.01
MIN_LINEAR_SPREAD = 1e-9
CI_LEVEL = 0.95
MIN_POOLED_SAMPLES = 5  # per side: the least that can reach p < 0.01 in a one-sided Mann-Whitney


@dataclass(frozen=True)
class TestResult:
    """One metric's evidence: one-sided p-values both ways and a CI of current - baseline (units)."""

    method: str  # "run-medians" | "mann-whitney"
    p_worse: float
    p_better: float
    baseline: float  # the baseline's centre the difference is taken from (units)
    current: float  # the current median (units)
    ci_low: float | None
    ci_high: float | None
    spread: float  # the baseline's run-to-run SD in units (0 for a pooled comparison)
    step: float = 0.0  # the step the values come in (1 for whole milliseconds), 0 when continuous


def finite(values: Sequence[float]) -> np.ndarray:
    """A failed sample is no sample."""
    array = np.asarray(values, dtype=float)
    return array[np.isfinite(array)]


def uses_log(unit: str, *groups: np.ndarray) -> bool:
    return unit in LOG_UNITS and all(len(g) and np.all(g > 0) for g in groups)


def run_centre(values: np.ndarray) -> float:
    """A run's median, estimated with Harrell-Davis from 3 samples on: a weighted average of the
    order statistics, so samples in whole milliseconds (Locust's) still give a run median that
    moves by less than a millisecond instead of jumping from 2 to 3."""
    if len(values) < 3:
        return float(np.median(values))
    return float(hdquantiles(values, prob=(0.5,))[0])


def quantum(*groups: np.ndarray) -> float:
    """The step the values come in: 1 when every value is whole (milliseconds, counts), else 0."""
    values = np.concatenate([np.asarray(g, dtype=float) for g in groups])
    return 1.0 if len(values) and np.all(values == np.round(values)) else 0.0


def spread_floor(centre: float, step: float, per_run: float, log: bool) -> float:
    """The least run-to-run SD to assume: 1 % (log) or 1 % of the centre, and for values in whole
    steps half a step shrunk by the samples per run (runs of constant 2 ms are no proof that
    3 ms is a change)."""
    quantised = step / (2 * np.sqrt(max(per_run, 1.0)))
    if log:
        return max(MIN_LOG_SPREAD, quantised / centre if centre > 0 else 0.0)
    return max(MIN_LINEAR_SPREAD, 0.01 * abs(centre), quantised)


def run_medians_test(baseline_runs: Sequence[Sequence[float]], current: Sequence[float], *, unit: str,
                     higher_is_better: bool, step: float | None = None) -> TestResult:
    """The current run's median against the baseline runs' medians (prediction t-test, df = K - 1).

    `step`: the values' own step when the current samples were rescaled (drift divided out:
    whole milliseconds stay whole milliseconds). Needs at least two baseline runs and one
    current sample (callers enforce their minimum)."""
    runs = [run for run in (finite(r) for r in baseline_runs) if len(run)]
    now = finite(current)
    if len(runs) < 2 or not len(now):
        raise ValueError("need two baseline runs and a current sample")
    medians = np.array([run_centre(run) for run in runs])
    current_median = run_centre(now)
    log = uses_log(unit, medians, now) and current_median > 0
    scale = np.log if log else (lambda x: np.asarray(x, dtype=float))
    base, cur = scale(medians), float(scale(current_median))
    k = len(base)
    centre = float(np.mean(base))
    step = quantum(*runs, now) if step is None else step
    floor = spread_floor(float(np.exp(centre)) if log else centre, step, float(np.median([len(r) for r in runs])), log)
    sd = max(float(np.std(base, ddof=1)), floor)
    se = sd * np.sqrt(1 + 1 / k)
    t = (cur - centre) / se
    p_higher, p_lower = float(stats.t.sf(t, k - 1)), float(stats.t.cdf(t, k - 1))
    half = float(stats.t.ppf(0.5 + CI_LEVEL / 2, k - 1)) * se
    if log:
        base_units = float(np.exp(centre))
        low, high = current_median * np.exp(-half) - base_units, current_median * np.exp(half) - base_units
        spread = base_units * float(np.expm1(sd))
    else:
        base_units = centre
        low, high = current_median - half - centre, current_median + half - centre
        spread = sd
    worse, better = (p_lower, p_higher) if higher_is_better else (p_higher, p_lower)
    return TestResult("run-medians", worse, better, base_units, current_median, float(low), float(high), spread, step)


def pooled_test(baseline: Sequence[float], current: Sequence[float], *, higher_is_better: bool) -> TestResult:
    """One-sided Mann-Whitney U both ways on pooled samples (no CI: see median_difference_ci)."""
    base, now = finite(baseline), finite(current)
    if len(base) < 1 or len(now) < 1:
        raise ValueError("need samples on both sides")
    if np.ptp(np.concatenate([base, now])) == 0:
        p_higher = p_lower = 1.0
    else:
        p_higher = float(stats.mannwhitneyu(now, base, alternative="greater").pvalue)
        p_lower = float(stats.mannwhitneyu(now, base, alternative="less").pvalue)
    worse, better = (p_lower, p_higher) if higher_is_better else (p_higher, p_lower)
    return TestResult("mann-whitney", worse, better, float(np.median(base)), float(np.median(now)), None, None, 0.0)


def median_difference_ci(baseline: Sequence[float], current: Sequence[float], *, seed: int = 0,
                         resamples: int = 999) -> tuple[float, float]:
    """Percentile bootstrap CI of median(current) - median(baseline) (deterministic for a seed)."""
    base, now = finite(baseline), finite(current)

    def difference(cur: np.ndarray, bas: np.ndarray, axis: int = -1) -> np.ndarray:
        return np.median(cur, axis=axis) - np.median(bas, axis=axis)

    result = stats.bootstrap((now, base), difference, vectorized=True, n_resamples=resamples,
                             confidence_level=CI_LEVEL, method="percentile", rng=np.random.default_rng(seed))
    low, high = result.confidence_interval
    return float(low), float(high)


def bh_qvalues(p_values: Sequence[float]) -> list[float]:
    """Benjamini-Hochberg adjusted p-values (q-values), in the order given."""
    if not len(p_values):
        return []
    return [float(q) for q in stats.false_discovery_control(np.clip(np.asarray(p_values, dtype=float), 0, 1))]


def effect_floor(baseline: float, spread: float, unit: str, min_change: float, step: float = 0.0) -> float:
    """The least change that counts: a share of the baseline, never less than the baseline's own
    run-to-run spread (a change inside the usual wobble is no finding however significant), nor
    than what the unit or the data can resolve (Locust reports whole milliseconds: a 3 ms route
    regresses from +1 ms, i.e. +33 %, not from a fixed 20 ms)."""
    resolution = RESOLUTION.get(unit, 0.0)
    if unit == "score" and abs(baseline) > 1.0:
        resolution = 1.0  # scores on a 0-100 scale
    return max(min_change * abs(baseline), spread, resolution, step)


def slope_with_ci(values: Sequence[float]) -> tuple[float, float, float]:
    """Theil-Sen slope per run (robust to one odd run) and its 95 % confidence interval."""
    y = np.asarray(values, dtype=float)
    slope, _, low, high = stats.theilslopes(y, np.arange(len(y)), alpha=CI_LEVEL)
    return float(slope), float(low), float(high)


def paired_rounds_test(a_rounds: dict[str, Sequence[float]], b_rounds: dict[str, Sequence[float]], *, unit: str,
                       higher_is_better: bool) -> TestResult:
    """Live A/B: B against A round by round (A and B measured alternately, so a round's drift
    hits both); a one-sample t-test on the per-round differences of medians (log for timings).

    Needs two rounds that measured both sides."""
    rounds = [r for r in a_rounds if r in b_rounds and len(finite(a_rounds[r])) and len(finite(b_rounds[r]))]
    if len(rounds) < 2:
        raise ValueError("need two rounds with both sides measured")
    a_med = np.array([run_centre(finite(a_rounds[r])) for r in rounds])
    b_med = np.array([run_centre(finite(b_rounds[r])) for r in rounds])
    log = uses_log(unit, a_med, b_med)
    diffs = np.log(b_med) - np.log(a_med) if log else b_med - a_med
    base = float(np.median(np.concatenate([finite(a_rounds[r]) for r in rounds])))
    n = len(diffs)
    step = quantum(*(finite(a_rounds[r]) for r in rounds), *(finite(b_rounds[r]) for r in rounds))
    per_round = float(np.median([len(finite(a_rounds[r])) for r in rounds]))
    sd = max(float(np.std(diffs, ddof=1)), spread_floor(base, step, per_round, log))
    se = sd / np.sqrt(n)
    mean = float(np.mean(diffs))
    t = mean / se
    p_higher, p_lower = float(stats.t.sf(t, n - 1)), float(stats.t.cdf(t, n - 1))
    half = float(stats.t.ppf(0.5 + CI_LEVEL / 2, n - 1)) * se
    if log:
        low, high = base * np.expm1(mean - half), base * np.expm1(mean + half)
        current = base * float(np.exp(mean))
    else:
        low, high, current = mean - half, mean + half, base + mean
    worse, better = (p_lower, p_higher) if higher_is_better else (p_higher, p_lower)
    return TestResult("paired-rounds", worse, better, base, current, float(low), float(high), 0.0, step)
