"""`tessera durability`: mean time to data loss (MTTDL) of an erasure-coded layout.

Theory of operation
-------------------
Every stripe has k data and m parity chunks on k+m distinct datanodes out of `nodes`, spread
over `zones` with at most `chunks_per_zone` (<= m) chunks of a stripe in one zone. Nodes fail
independently with an exponential lifetime of rate λ per year, derived from the annual
failure rate: AFR = 1 - exp(-λ · 1 year), so λ = -ln(1 - AFR). A lost node's chunks are
rebuilt in T_repair = detection_s + bytes_per_node / repair throughput, also taken as
exponential, so the repair rate is μ = 1 / T_repair.

The number of failed nodes is a birth-death Markov chain over the states 0..m, plus one
absorbing state "data lost":

* state i -> i+1 at rate (n - i)λ (any surviving node fails);
* state m -> lost at rate (n - m)λ · coverage, where coverage is the probability that the
  m+1 failed nodes hold m+1 chunks of one same stripe (1 when n = k+m, or when there are
  many stripe placements spread over all node sets);
* state i -> i-1 at rate μ ("serial": the measured repair throughput is one cluster-wide
  budget, so a second dead node waits for it; the default, conservative) or iμ ("parallel":
  each dead node is rebuilt at the full rate at once).

MTTDL is the mean time to absorption from state 0: the transient part Q of the generator
gives the linear system (-Q) t = 1, solved here in exact rationals (the matrix is at most
(parity_max+1)², and exact arithmetic sidesteps μ/λ ratios of 10^4 and more). The classic
approximation for μ >> λ, ∏ death rates / ∏ birth rates, i.e. μ^m / (λ^(m+1) n(n-1)...(n-m))
for serial repair, is reported next to it.

Zone outages (rate per zone λ_z = -ln(1 - zone AFR), duration D hours) take a whole zone
down temporarily: alone they lose nothing, since a stripe keeps at least k chunks elsewhere.
While a zone is down a stripe tolerates m' = m - chunks_per_zone more node failures. An
outage counts as a data-loss event when, already failed nodes (drawn from the stationary
distribution of the chain above, all assumed outside the zone) plus nodes failing during
the outage (no repair during it) exceed m' within one stripe (the same coverage
approximation, over the surviving nodes). That is conservative: the failed zone's chunks
usually come back. Both figures are reported: node failures alone, and with zone outages.

Worked example, default layout 4+2, 6 nodes, AFR 5%, 2 TB at 50 MB/s plus 600 s: λ = 0.0513
per year, T_repair = 11.3 h, μ = 777 per year, MTTDL ≈ 3.7e7 years (exact and approximate
agree within 0.1%), probability of data loss per year ≈ 2.7e-8. See docs/durability.md.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from fractions import Fraction
from typing import Any, Final, Literal

logger = logging.getLogger("tessera.durability")

SECONDS_PER_YEAR: Final = 365.25 * 24 * 3600  # Julian year, the usual unit of AFR figures
HOURS_PER_YEAR: Final = 365.25 * 24
BYTES_PER_MB: Final = 1_000_000  # decimal, as disk and network throughput is quoted
BYTES_PER_TB: Final = 1_000_000_000_000

# parity chunks; the chain has m+2 states and is solved in exact rationals whose size grows
# with the matrix. pyeclib stripes hold at most 32 fragments, so 16 parity is plenty.
parity_max: Final = 16
# datanodes; far above any planned cluster, and keeps math.comb in coverage cheap.
nodes_max: Final = 100_000
# relative gap between exact and approximate MTTDL above which the report warns that
# μ >> λ does not hold (the approximation is only for comparison).
approximation_gap_max: Final = 0.10
# relative size of a binomial term, past the mode, below which the tail sum stops: the
# terms then shrink geometrically, so the rest is below a double's rounding error.
binomial_tail_epsilon: Final = 1e-18

RepairMode = Literal["serial", "parallel"]
REPAIR_MODES: Final[tuple[RepairMode, ...]] = ("serial", "parallel")


class DurabilityError(ValueError):
    """An input the model cannot evaluate (bad layout or rate)."""


@dataclass(frozen=True, slots=True)
class DurabilityConfig:
    """Inputs of the model; every figure has its unit in its name."""

    k: int = 4  # data chunks per stripe
    m: int = 2  # parity chunks per stripe
    zones: int = 3
    nodes: int = 6  # datanodes in total, over all zones
    chunks_per_zone: int | None = None  # of one stripe in one zone; None = even spread
    placements: int | None = None  # distinct stripe node sets; None = many (every m+1 loses data)
    node_afr: float = 0.05  # annual failure rate of one datanode, 0..1
    bytes_per_node: int = 2 * BYTES_PER_TB  # bytes to rebuild when a node dies
    repair_mb_s: float = 50.0  # reconstructed data, MB/s (measured on the cluster)
    detection_s: float = 600.0  # grace period before repair starts, seconds
    repair_mode: RepairMode = "serial"
    zone_afr: float = 0.0  # annual rate of outages of one zone (as 1 - exp(-rate))
    zone_outage_hours: float = 4.0  # duration of one zone outage

    def spread(self) -> int:
        """Chunks of one stripe in its fullest zone: round-robin placement, ceil((k+m)/zones)."""
        if self.chunks_per_zone is not None:
            return self.chunks_per_zone
        return -(-(self.k + self.m) // self.zones)

    def validate(self) -> None:
        """Raise DurabilityError for any input outside the model."""
        width = self.k + self.m
        checks = [
            (self.k >= 1, f"k must be >= 1 (got {self.k})"),
            (0 <= self.m <= parity_max, f"m must be in 0..{parity_max} (got {self.m})"),
            (width <= self.nodes <= nodes_max, f"nodes must be in k+m..{nodes_max} (got {self.nodes})"),
            (1 <= self.zones <= self.nodes, f"zones must be in 1..nodes (got {self.zones})"),
            (0.0 < self.node_afr < 1.0, f"node AFR must be in (0, 1) (got {self.node_afr})"),
            (0.0 <= self.zone_afr < 1.0, f"zone AFR must be in [0, 1) (got {self.zone_afr})"),
            (self.bytes_per_node > 0, "bytes per node must be > 0"),
            (self.repair_mb_s > 0, "repair throughput must be > 0 MB/s"),
            (self.detection_s >= 0, "detection time must be >= 0 s"),
            (self.zone_outage_hours >= 0, "zone outage must be >= 0 hours"),
            (self.placements is None or self.placements >= 1, "placements must be >= 1"),
            (self.repair_mode in REPAIR_MODES, f"repair mode must be one of {REPAIR_MODES}"),
        ]
        for ok, message in checks:
            if not ok:
                raise DurabilityError(message)
        spread = self.spread()  # zones >= 1 now
        if not (1 <= spread <= width and spread * self.zones >= width):
            raise DurabilityError(f"{self.zones} zones with at most {spread} chunks each "
                                  f"cannot hold {width} chunks")


@dataclass(frozen=True, slots=True)
class ZoneReport:
    """The zone-outage term; an "event" is an outage during which some stripe is undecodable."""

    outage_rate_per_year: float  # outages of any zone
    tolerance_failures: int  # m - chunks_per_zone: node failures a stripe survives during one
    surviving_nodes: int  # nodes outside the zone that is down
    event_probability_per_outage: float
    event_rate_per_year: float


@dataclass(frozen=True, slots=True)
class DurabilityReport:
    """Results; `mttdl_years` counts node failures only, `mttdl_with_zones_years` adds zone outages."""

    config: DurabilityConfig
    node_failure_rate_per_year: float  # λ
    repair_hours: float  # T_repair
    repair_rate_per_year: float  # μ
    coverage: float  # P(m+1 failed nodes hold m+1 chunks of one stripe)
    mttdl_years: float  # exact, Markov chain
    mttdl_approx_years: float  # ∏ death rates / ∏ birth rates
    zone: ZoneReport
    mttdl_with_zones_years: float
    loss_probability_per_year: float  # 1 - exp(-1 / mttdl_years)
    loss_probability_with_zones_per_year: float  # 1 - exp(-1 / mttdl_with_zones_years)
    warnings: tuple[str, ...]


# --- rates ---------------------------------------------------------------------------------


def rate_from_afr(afr: float) -> float:
    """Exponential rate per year whose one-year failure probability is `afr`.

    >>> round(rate_from_afr(0.05), 6)
    0.051293
    """
    assert 0.0 <= afr < 1.0
    return -math.log1p(-afr)


def repair_seconds(config: DurabilityConfig) -> float:
    """Grace period plus the time to rebuild one node: 600 + 2e12 / 50e6 = 40,600 s by default."""
    return config.detection_s + config.bytes_per_node / (config.repair_mb_s * BYTES_PER_MB)


def stripe_coverage(nodes: int, k: int, m: int, placements: int | None) -> float:
    """P(a given set of m+1 failed nodes holds m+1 chunks of at least one stripe placement).

    Each placement is taken as a uniform random (k+m)-subset of the nodes (the zone rule is
    ignored); one contains the m+1 failed nodes with q = C(n-m-1, k-1) / C(n, k+m), so with
    P placements the coverage is 1 - (1-q)^P. None means "many": coverage 1.

    >>> round(stripe_coverage(10, 2, 1, 1) * 120, 9)  # C(8, 1) / C(10, 3) = 8/120
    8.0
    """
    if placements is None or nodes == k + m:
        return 1.0
    q = math.comb(nodes - m - 1, k - 1) / math.comb(nodes, k + m)
    if q >= 1.0:
        return 1.0
    return -math.expm1(placements * math.log1p(-q))


def chain_rates(config: DurabilityConfig) -> tuple[list[Fraction], list[Fraction]]:
    """(up, down) of the birth-death chain over 0..m failed nodes, per year, exact.

    up[i] leaves state i upwards (up[m] leads to data loss); down[i] leads from i to i-1
    (down[0] = 0).
    """
    n, m = config.nodes, config.m
    failure = Fraction(rate_from_afr(config.node_afr))
    repair = Fraction(SECONDS_PER_YEAR) / Fraction(repair_seconds(config))
    coverage = Fraction(stripe_coverage(n, config.k, m, config.placements))
    up = [(n - i) * failure for i in range(m + 1)]
    up[m] *= coverage
    down = [Fraction(0)] + [repair * (i if config.repair_mode == "parallel" else 1) for i in range(1, m + 1)]
    return up, down


# --- the Markov chain ----------------------------------------------------------------------


def solve_linear(matrix: Sequence[Sequence[Fraction]], rhs: Sequence[Fraction]) -> list[Fraction]:
    """x with matrix · x = rhs, by Gaussian elimination in exact rationals.

    >>> solve_linear([[Fraction(2), Fraction(1)], [Fraction(1), Fraction(3)]], [Fraction(3), Fraction(5)])
    [Fraction(4, 5), Fraction(7, 5)]
    """
    size = len(rhs)
    rows = [list(row) + [value] for row, value in zip(matrix, rhs, strict=True)]
    for column in range(size):
        pivot = next((r for r in range(column, size) if rows[r][column] != 0), None)
        if pivot is None:
            raise DurabilityError("singular chain: some state never reaches data loss")
        rows[column], rows[pivot] = rows[pivot], rows[column]
        for r in range(size):
            if r != column and rows[r][column] != 0:
                factor = rows[r][column] / rows[column][column]
                rows[r] = [a - factor * b for a, b in zip(rows[r], rows[column], strict=True)]
    return [rows[r][size] / rows[r][r] for r in range(size)]


def absorption_time(up: Sequence[Fraction], down: Sequence[Fraction]) -> Fraction:
    """Mean time from state 0 until up[-1] fires out of the last state: solves (-Q) t = 1.

    Row i of -Q: (up[i] + down[i]) on the diagonal, -up[i] right of it, -down[i] left of it.
    E.g. one state (m = 0) with up [3]: 1/3.
    """
    size = len(up)
    matrix = [[Fraction(0)] * size for _ in range(size)]
    for i in range(size):
        matrix[i][i] = up[i] + down[i]
        if i + 1 < size:
            matrix[i][i + 1] = -up[i]
        if i > 0:
            matrix[i][i - 1] = -down[i]
    return solve_linear(matrix, [Fraction(1)] * size)[0]


def approximate_time(up: Sequence[Fraction], down: Sequence[Fraction]) -> Fraction:
    """∏ down[1..m] / ∏ up[0..m]: the μ >> λ limit, μ^m / (λ^(m+1) n(n-1)...(n-m)) for serial."""
    return math.prod(down[1:], start=Fraction(1)) / math.prod(up, start=Fraction(1))


def stationary_failed(up: Sequence[Fraction], down: Sequence[Fraction]) -> list[float]:
    """P(i nodes are down at a random time), the chain reflected at m (loss ignored)."""
    weights = [Fraction(1)]
    for i in range(1, len(up)):
        weights.append(weights[-1] * up[i - 1] / down[i])
    total = sum(weights, start=Fraction(0))
    return [float(w / total) for w in weights]


# --- zone outages --------------------------------------------------------------------------


def binomial_tail(trials: int, probability: float, at_least: int) -> float:
    """P(X >= at_least) for X ~ Binomial(trials, probability); 1 when at_least <= 0.

    Summed upwards in log space (math.comb of 10^5 nodes overflows a float), stopping once
    the terms past the mode no longer change the sum.

    >>> round(binomial_tail(4, 0.5, 3), 12)  # 5/16
    0.3125
    """
    if at_least <= 0:
        return 1.0
    if at_least > trials or probability <= 0.0:
        return 0.0
    if probability >= 1.0:
        return 1.0
    log_p, log_q = math.log(probability), math.log1p(-probability)
    total = 0.0
    for x in range(at_least, trials + 1):
        term = math.exp(math.lgamma(trials + 1) - math.lgamma(x + 1) - math.lgamma(trials - x + 1)
                        + x * log_p + (trials - x) * log_q)
        total += term
        if x > trials * probability and term <= total * binomial_tail_epsilon:
            break
    return min(1.0, total)


def zone_event_probability(failed: Sequence[float], surviving_nodes: int, tolerance: int,
                           failure_probability: float) -> float:
    """P(a stripe becomes undecodable during one outage) = Σ_i P(i down) · P(>= m'-i+1 more fail).

    `failed[i]` is P(i nodes already down, all outside the zone); the other surviving nodes
    fail during the outage each with `failure_probability`, unrepaired.
    """
    return min(1.0, sum(p * binomial_tail(surviving_nodes - i, failure_probability, tolerance - i + 1)
                        for i, p in enumerate(failed)))


def zone_report(config: DurabilityConfig, failed: Sequence[float]) -> ZoneReport:
    """The zone-outage term; `failed` is the stationary distribution of failed nodes."""
    tolerance = config.m - config.spread()
    surviving = config.nodes - config.nodes // config.zones  # the smallest zone is down: most survivors
    outage_years = config.zone_outage_hours / HOURS_PER_YEAR
    during = -math.expm1(-rate_from_afr(config.node_afr) * outage_years)
    probability = 1.0
    if tolerance >= 0:
        # A stripe keeps k + m' chunks outside the zone; the m'+1 failures must hit one stripe.
        shared = 1.0 if surviving <= config.k + tolerance else \
            stripe_coverage(surviving, config.k, tolerance, config.placements)
        probability = shared * zone_event_probability(failed, surviving, tolerance, during)
    outage_rate = config.zones * rate_from_afr(config.zone_afr)
    return ZoneReport(outage_rate_per_year=outage_rate, tolerance_failures=tolerance,
                      surviving_nodes=surviving, event_probability_per_outage=probability,
                      event_rate_per_year=outage_rate * probability)


# --- the report ----------------------------------------------------------------------------


def evaluate(config: DurabilityConfig) -> DurabilityReport:
    """Run the model; raises DurabilityError on invalid input."""
    config.validate()
    up, down = chain_rates(config)
    exact = float(absorption_time(up, down))
    approximate = float(approximate_time(up, down))
    zone = zone_report(config, stationary_failed(up, down))
    combined = 1.0 / (1.0 / exact + zone.event_rate_per_year)
    warnings = []
    if abs(approximate - exact) > approximation_gap_max * exact:
        warnings.append(f"the approximation is off by more than {approximation_gap_max:.0%}: "
                        "repair is not much faster than failures, trust the exact figure")
    if zone.tolerance_failures < 0:
        warnings.append(f"a stripe keeps {config.spread()} chunks in one zone, more than m={config.m}: "
                        "every zone outage makes data unreadable")
    logger.debug("evaluated k=%d m=%d nodes=%d mttdl_years=%.6g", config.k, config.m, config.nodes, exact)
    return DurabilityReport(
        config=config, node_failure_rate_per_year=rate_from_afr(config.node_afr),
        repair_hours=repair_seconds(config) / 3600,
        repair_rate_per_year=SECONDS_PER_YEAR / repair_seconds(config),
        coverage=stripe_coverage(config.nodes, config.k, config.m, config.placements),
        mttdl_years=exact, mttdl_approx_years=approximate, zone=zone, mttdl_with_zones_years=combined,
        loss_probability_per_year=-math.expm1(-1.0 / exact),
        loss_probability_with_zones_per_year=-math.expm1(-1.0 / combined), warnings=tuple(warnings))


def to_json(report: DurabilityReport) -> dict[str, Any]:
    """The `--json` object: inputs under "config", zone term under "zone", figures at top level."""
    document = asdict(report)
    document["config"]["chunks_per_zone"] = report.config.spread()
    document["warnings"] = list(report.warnings)
    return document


def _years(value: float) -> str:
    return f"{value:,.0f} years" if value < 1e9 else f"{value:.3e} years"


def format_text(report: DurabilityReport) -> str:
    """The human report; ASCII only (lambda, mu), so it prints under any terminal encoding."""
    config, zone = report.config, report.zone
    approximation = "mu^m / (lambda^(m+1) n(n-1)...(n-m))" if config.repair_mode == "serial" \
        else "m! mu^m / (lambda^(m+1) n(n-1)...(n-m))"
    lines = [
        f"layout             {config.k}+{config.m} over {config.nodes} datanodes in {config.zones} zones, "
        f"at most {config.spread()} chunks of a stripe per zone",
        f"node failures      AFR {config.node_afr:.2%} -> "
        f"lambda = {report.node_failure_rate_per_year:.5f} per year",
        f"repair             {config.bytes_per_node / BYTES_PER_TB:g} TB at {config.repair_mb_s:g} MB/s "
        f"+ {config.detection_s:g} s detection = {report.repair_hours:.2f} h -> "
        f"mu = {report.repair_rate_per_year:.1f} per year ({config.repair_mode} repair)",
        f"stripe coverage    {report.coverage:.4g} (P that m+1 failed nodes hold chunks of one stripe)",
        f"MTTDL (exact)      {_years(report.mttdl_years)}   node failures, Markov chain",
        f"MTTDL (approx.)    {_years(report.mttdl_approx_years)}   {approximation}",
        f"P(data loss)/year  {_odds(report.loss_probability_per_year)}",
    ]
    if config.zone_afr > 0:
        lines += [
            f"zone outages       {zone.outage_rate_per_year:.3g} per year of {config.zone_outage_hours:g} h; "
            f"a stripe then survives {zone.tolerance_failures} more node failures; "
            f"P(unreadable during one) = {zone.event_probability_per_outage:.3e}",
            f"MTTDL with zones   {_years(report.mttdl_with_zones_years)}   "
            "(stripes unreadable during an outage counted as lost)",
            f"P(loss)/year zones {_odds(report.loss_probability_with_zones_per_year)}",
        ]
    lines.extend(f"warning: {warning}" for warning in report.warnings)
    return "\n".join(lines)


def _odds(probability: float) -> str:
    if probability <= 0:
        return "0"
    one_in = 1 / probability
    count = f"{one_in:,.0f}" if one_in < 1e9 else f"{one_in:.3e}"
    return f"{probability:.3e} (1 in {count})"


# --- command line --------------------------------------------------------------------------


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Flags of `tessera durability`; defaults are the DurabilityConfig defaults."""
    defaults = DurabilityConfig()
    parser.add_argument("--k", type=int, default=defaults.k, help="data chunks per stripe (4)")
    parser.add_argument("--m", type=int, default=defaults.m, help="parity chunks per stripe (2)")
    parser.add_argument("--zones", type=int, default=defaults.zones, help="zones (3)")
    parser.add_argument("--nodes", type=int, default=defaults.nodes, help="datanodes in total (6)")
    parser.add_argument("--chunks-per-zone", type=int, default=None,
                        help="chunks of one stripe in its fullest zone (default ceil((k+m)/zones))")
    parser.add_argument("--placements", type=int, default=None,
                        help="distinct stripe node sets when nodes > k+m, e.g. object parts "
                             "(default: many, so any m+1 failed nodes lose data)")
    parser.add_argument("--node-afr", type=float, default=defaults.node_afr,
                        help="annual failure rate of one datanode, 0..1 (0.05 = 5%%/year)")
    parser.add_argument("--bytes-per-node", type=int, default=defaults.bytes_per_node,
                        help="bytes stored per datanode, rebuilt after a failure (2e12)")
    parser.add_argument("--repair-mb-s", type=float, default=defaults.repair_mb_s,
                        help="repair throughput of the cluster, MB/s of reconstructed data (50)")
    parser.add_argument("--detection-s", type=float, default=defaults.detection_s,
                        help="grace period before repair starts, seconds (600)")
    parser.add_argument("--repair-mode", choices=REPAIR_MODES, default=defaults.repair_mode,
                        help="serial: one repair budget shared by all dead nodes (default); "
                             "parallel: each dead node rebuilt at the full rate")
    parser.add_argument("--zone-afr", type=float, default=defaults.zone_afr,
                        help="annual outage rate of one zone, 0..1 (0 = ignore zones)")
    parser.add_argument("--zone-outage-hours", type=float, default=defaults.zone_outage_hours,
                        help="duration of a zone outage, hours (4)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def config_from_args(args: argparse.Namespace) -> DurabilityConfig:
    return DurabilityConfig(
        k=args.k, m=args.m, zones=args.zones, nodes=args.nodes, chunks_per_zone=args.chunks_per_zone,
        placements=args.placements, node_afr=args.node_afr, bytes_per_node=args.bytes_per_node,
        repair_mb_s=args.repair_mb_s, detection_s=args.detection_s, repair_mode=args.repair_mode,
        zone_afr=args.zone_afr, zone_outage_hours=args.zone_outage_hours)


def run(args: argparse.Namespace) -> int:
    """Run `tessera durability`: 0 with a report, 2 on invalid input."""
    try:
        report = evaluate(config_from_args(args))
    except DurabilityError as error:
        print(f"tessera durability: {error}", file=sys.stderr)
        return 2
    print(json.dumps(to_json(report), indent=2) if args.json else format_text(report))
    return 0
