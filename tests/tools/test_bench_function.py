"""tools.bench_function fails, naming the figure, when a target is missed."""

from __future__ import annotations

from tools.bench_function import missed_targets


def test_missed_targets_are_named_with_their_figures() -> None:
    assert missed_targets(113.0, 1.52, 1.27, 5_900_000, 1.8, 250.0, 1.4) == []
    missed = missed_targets(1500.0, 2.5, 1.4, 9 * 1024 * 1024, 2.2, 1200.0, 2.1)
    assert missed == [
        "p99 latency 1500 us > 1000 us",
        "cost per request 2.50x > 2.00x",
        "/api/me cost 2.20x jwt.decode > 2.00x",
        "callout p99 latency 1200 us > 1000 us",
        "callout cost 2.10x > 2.00x",
        "import ratio 1.40 > 1.30",
        "package 9.00 MiB > 8 MiB",
    ]
