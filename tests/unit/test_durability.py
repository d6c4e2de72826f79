"""The MTTDL model: hand-derived chains, monotonicity, the approximation, zones, the CLI."""

from __future__ import annotations

import argparse
import dataclasses
import doctest
import itertools
import json
import math
from fractions import Fraction

import pytest

from tessera import durability
from tessera.durability import (
    DurabilityConfig,
    DurabilityError,
    absorption_time,
    approximate_time,
    binomial_tail,
    evaluate,
    rate_from_afr,
    stripe_coverage,
    zone_event_probability,
)


def birth_death_sum(up: list[Fraction], down: list[Fraction]) -> Fraction:
    """Textbook mean absorption time of a birth-death chain started in 0, an independent check:
    T = Σ_i Σ_{j<=i} (1/up[j]) ∏_{l=j+1..i} down[l]/up[l] (time spent climbing from j to i+1)."""
    total = Fraction(0)
    for i in range(len(up)):
        for j in range(i + 1):
            total += math.prod((down[h] / up[h] for h in range(j + 1, i + 1)), start=Fraction(1)) / up[j]
    return total


def serial_rates(n: int, m: int, failure: Fraction,
                 repair: Fraction) -> tuple[list[Fraction], list[Fraction]]:
    return [(n - i) * failure for i in range(m + 1)], [Fraction(0)] + [repair] * m


def test_doctests_hold() -> None:
    result = doctest.testmod(durability)
    assert result.attempted >= 4 and result.failed == 0


def test_m0_is_time_to_first_failure() -> None:
    for n in (1, 3, 6):
        up, down = serial_rates(n, 0, Fraction(1, 7), Fraction(1000))
        assert absorption_time(up, down) == Fraction(7, n)  # 1 / (nλ)


def test_m1_matches_two_state_closed_form() -> None:
    # T0 = 1/(nλ) + T1, T1 = 1/((n-1)λ+μ) + μ/((n-1)λ+μ) · T0  =>  T0 = (μ + (2n-1)λ) / (n(n-1)λ²).
    failure, repair = Fraction(1, 20), Fraction(300)
    for n in (2, 4, 9):
        up, down = serial_rates(n, 1, failure, repair)
        expected = (repair + (2 * n - 1) * failure) / (n * (n - 1) * failure**2)
        assert absorption_time(up, down) == expected


def test_m2_by_hand() -> None:
    # n=3, λ=1, μ=10, serial: up 3, 2, 1; down 10, 10.
    # T = 1/3 + (1/2 + 10/(3·2)) + (1 + 10/(2·1) + 100/(3·2·1)) = 151/6.
    up, down = serial_rates(3, 2, Fraction(1), Fraction(10))
    assert absorption_time(up, down) == Fraction(151, 6)


@pytest.mark.parametrize("m", [0, 1, 2, 3, 5, 8])
@pytest.mark.parametrize("parallel", [False, True])
def test_linear_solve_matches_birth_death_sum(m: int, parallel: bool) -> None:
    n, failure, repair = m + 7, Fraction(3, 100), Fraction(250)
    up = [(n - i) * failure for i in range(m + 1)]
    down = [Fraction(0)] + [repair * (i if parallel else 1) for i in range(1, m + 1)]
    assert absorption_time(up, down) == birth_death_sum(up, down)


def test_afr_converts_to_a_rate_whose_one_year_probability_is_the_afr() -> None:
    assert rate_from_afr(0.05) == pytest.approx(-math.log(0.95))
    assert rate_from_afr(0.05) > 0.05  # the rate is not the probability
    # One node, no parity: MTTDL = 1/λ and P(loss in a year) = 1 - exp(-λ) = AFR.
    report = evaluate(DurabilityConfig(k=1, m=0, zones=1, nodes=1, node_afr=0.05))
    assert report.mttdl_years == pytest.approx(1 / rate_from_afr(0.05))
    assert report.loss_probability_per_year == pytest.approx(0.05)


def test_default_layout_figures() -> None:
    report = evaluate(DurabilityConfig())
    assert report.repair_hours == pytest.approx((600 + 2e12 / 50e6) / 3600)
    failure = -math.log(0.95)
    repair = 365.25 * 24 / report.repair_hours
    classic = repair**2 / (failure**3 * 6 * 5 * 4)
    assert report.mttdl_approx_years == pytest.approx(classic, rel=1e-12)
    assert report.mttdl_years == pytest.approx(3.733e7, rel=1e-3)
    assert report.loss_probability_per_year == pytest.approx(-math.expm1(-1 / report.mttdl_years))
    assert report.coverage == 1.0 and report.warnings == ()


def test_exact_and_approximation_agree_when_repair_is_fast() -> None:
    for m in (1, 2, 3, 4):
        report = evaluate(DurabilityConfig(k=4, m=m, zones=1, nodes=12))
        assert abs(report.mttdl_approx_years - report.mttdl_years) <= 0.10 * report.mttdl_years
        # The approximation drops the (positive) lower-order terms, so it sits below the exact value.
        assert report.mttdl_approx_years < report.mttdl_years


def test_slow_repair_warns_that_the_approximation_is_off() -> None:
    report = evaluate(DurabilityConfig(nodes=6, node_afr=0.9, repair_mb_s=0.05))
    assert any("approximation" in warning for warning in report.warnings)


def test_more_parity_faster_repair_parallel_repair_all_help() -> None:
    by_m = [evaluate(DurabilityConfig(k=4, m=m, zones=1, nodes=12)).mttdl_years for m in range(5)]
    assert by_m == sorted(by_m) and len(set(by_m)) == len(by_m)
    by_speed = [evaluate(DurabilityConfig(repair_mb_s=speed)).mttdl_years for speed in (10, 50, 200, 1000)]
    assert by_speed == sorted(by_speed) and len(set(by_speed)) == len(by_speed)
    by_detection = [evaluate(DurabilityConfig(detection_s=s)).mttdl_years for s in (0, 600, 3600)]
    assert by_detection == sorted(by_detection, reverse=True)
    by_afr = [evaluate(DurabilityConfig(node_afr=afr)).mttdl_years for afr in (0.01, 0.05, 0.2)]
    assert by_afr == sorted(by_afr, reverse=True)
    serial = evaluate(DurabilityConfig(repair_mode="serial"))
    parallel = evaluate(DurabilityConfig(repair_mode="parallel"))
    # With μ >> λ the m=2 chain is dominated by the rate out of state 2: 2μ doubles MTTDL.
    assert parallel.mttdl_years == pytest.approx(2 * serial.mttdl_years, rel=1e-3)


def test_stripe_coverage_matches_enumeration() -> None:
    n, k, m = 10, 2, 1
    stripes = list(itertools.combinations(range(n), k + m))
    covering = sum(1 for stripe in stripes if {0, 1} <= set(stripe))
    assert stripe_coverage(n, k, m, 1) == pytest.approx(covering / len(stripes))
    assert stripe_coverage(n, k, m, 1) == pytest.approx(8 / 120)
    assert stripe_coverage(n, k, m, 5) == pytest.approx(1 - (1 - 8 / 120) ** 5)
    assert stripe_coverage(n, k, m, None) == 1.0
    assert stripe_coverage(k + m, k, m, 1) == 1.0  # every stripe spans every node


def test_few_placements_on_a_wide_cluster_lose_data_less_often() -> None:
    many = evaluate(DurabilityConfig(nodes=30))
    few = evaluate(DurabilityConfig(nodes=30, placements=10))
    assert few.coverage < 0.1
    # Only the rate out of state m shrinks, so MTTDL scales as 1/coverage in the μ >> λ limit.
    assert few.mttdl_years == pytest.approx(many.mttdl_years / few.coverage, rel=1e-2)


def test_binomial_tail() -> None:
    assert binomial_tail(4, 0.5, 3) == pytest.approx(5 / 16)
    assert binomial_tail(4, 0.5, 0) == 1.0
    assert binomial_tail(4, 0.5, 5) == 0.0
    assert binomial_tail(100_000, 1e-9, 1) == pytest.approx(-math.expm1(100_000 * math.log1p(-1e-9)))


def test_zone_event_probability_formula() -> None:
    # Nobody down before the outage, tolerance 0: any of the 4 survivors failing counts.
    assert zone_event_probability([1.0, 0.0, 0.0], 4, 0, 0.01) == pytest.approx(1 - 0.99**4)
    # One node already down with tolerance 0: the outage alone makes stripes unreadable.
    assert zone_event_probability([0.0, 1.0, 0.0], 4, 0, 0.01) == 1.0
    # Tolerance 1, one down: one more of the 3 others must fail.
    assert zone_event_probability([0.0, 1.0, 0.0], 4, 1, 0.01) == pytest.approx(1 - 0.99**3)


def test_zone_outages_lower_the_combined_mttdl_only() -> None:
    quiet = evaluate(DurabilityConfig())
    assert quiet.zone.event_rate_per_year == 0.0
    assert quiet.mttdl_with_zones_years == quiet.mttdl_years
    stormy = evaluate(DurabilityConfig(zone_afr=0.01))
    assert stormy.mttdl_years == quiet.mttdl_years
    assert stormy.zone.tolerance_failures == 0 and stormy.zone.surviving_nodes == 4
    assert stormy.zone.outage_rate_per_year == pytest.approx(3 * -math.log(0.99))
    assert stormy.mttdl_with_zones_years == pytest.approx(
        1 / (1 / quiet.mttdl_years + stormy.zone.event_rate_per_year))
    assert stormy.mttdl_with_zones_years < quiet.mttdl_years
    longer = evaluate(DurabilityConfig(zone_afr=0.01, zone_outage_hours=48))
    assert longer.mttdl_with_zones_years < stormy.mttdl_with_zones_years
    # 4+2 over 6 zones: one chunk per zone, so one more failure is tolerated during an outage.
    spread = evaluate(DurabilityConfig(zones=6, zone_afr=0.01))
    assert spread.zone.tolerance_failures == 1
    assert spread.mttdl_with_zones_years > stormy.mttdl_with_zones_years


def test_layout_beyond_m_per_zone_warns() -> None:
    report = evaluate(DurabilityConfig(k=4, m=2, zones=2, nodes=6, zone_afr=0.01))
    assert report.config.spread() == 3 and report.zone.tolerance_failures == -1
    assert report.zone.event_probability_per_outage == 1.0
    assert any("zone" in warning for warning in report.warnings)


@pytest.mark.parametrize("change", [
    {"m": -1}, {"m": 17}, {"k": 0}, {"nodes": 5}, {"zones": 0}, {"zones": 7}, {"node_afr": 0.0},
    {"node_afr": 1.0}, {"zone_afr": -0.1}, {"repair_mb_s": 0.0}, {"detection_s": -1.0}, {"bytes_per_node": 0},
    {"placements": 0}, {"chunks_per_zone": 1}, {"zone_outage_hours": -1.0},
])
def test_invalid_input_is_rejected(change: dict[str, object]) -> None:
    with pytest.raises(DurabilityError):
        evaluate(dataclasses.replace(DurabilityConfig(), **change))  # type: ignore[arg-type]


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    durability.add_arguments(parser)
    return parser.parse_args(argv)


def test_json_output_shape(capsys: pytest.CaptureFixture[str]) -> None:
    assert durability.run(parse(["--json", "--zone-afr", "0.01"])) == 0
    document = json.loads(capsys.readouterr().out)
    assert set(document) == {
        "config", "node_failure_rate_per_year", "repair_hours", "repair_rate_per_year", "coverage",
        "mttdl_years", "mttdl_approx_years", "zone", "mttdl_with_zones_years", "loss_probability_per_year",
        "loss_probability_with_zones_per_year", "warnings"}
    assert document["config"] == {
        "k": 4, "m": 2, "zones": 3, "nodes": 6, "chunks_per_zone": 2, "placements": None, "node_afr": 0.05,
        "bytes_per_node": 2 * 10**12, "repair_mb_s": 50.0, "detection_s": 600.0, "repair_mode": "serial",
        "zone_afr": 0.01, "zone_outage_hours": 4.0}
    assert set(document["zone"]) == {"outage_rate_per_year", "tolerance_failures", "surviving_nodes",
                                     "event_probability_per_outage", "event_rate_per_year"}
    assert document["mttdl_years"] == pytest.approx(evaluate(DurabilityConfig()).mttdl_years)
    assert document["warnings"] == []


def test_text_report_and_bad_flags(capsys: pytest.CaptureFixture[str]) -> None:
    assert durability.run(parse(["--m", "3", "--nodes", "9", "--repair-mode", "parallel"])) == 0
    text = capsys.readouterr().out
    assert "4+3 over 9 datanodes" in text and "MTTDL (exact)" in text and "P(data loss)/year" in text
    assert text.isascii()
    assert durability.run(parse(["--nodes", "5"])) == 2
    assert "nodes must be" in capsys.readouterr().err


def test_approximation_is_the_classic_formula() -> None:
    failure, repair, n, m = Fraction(1, 19), Fraction(800), 8, 3
    up, down = serial_rates(n, m, failure, repair)
    assert approximate_time(up, down) == repair**m / (failure ** (m + 1) * n * (n - 1) * (n - 2) * (n - 3))
