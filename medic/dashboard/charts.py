"""A small bar chart of job run durations, drawn server-side as inline SVG (no script,
no chart library): the template draws the bars this computes."""

from __future__ import annotations

from dataclasses import dataclass

from medic.ops.runs import RunView

WIDTH, HEIGHT, GAP = 600, 120, 2


@dataclass(frozen=True, slots=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    outcome: str
    title: str


def run_bars(runs: list[RunView]) -> list[Bar]:
    """Oldest on the left; a bar's height is its duration against the longest shown."""
    measured = [run for run in reversed(runs) if run.duration_ms is not None]
    if not measured:
        return []
    longest = max(run.duration_ms or 0.0 for run in measured) or 1.0
    width = WIDTH / len(measured)
    bars = []
    for index, run in enumerate(measured):
        duration = run.duration_ms or 0.0
        height = max(1.0, duration / longest * (HEIGHT - 4))
        bars.append(
            Bar(
                x=round(index * width, 2),
                y=round(HEIGHT - height, 2),
                width=round(max(1.0, width - GAP), 2),
                height=round(height, 2),
                outcome=run.outcome or "open",
                title=f"{run.started_at:%Y-%m-%d %H:%M:%S} UTC: {format_ms(duration)} "
                f"({run.outcome or 'open'})",
            )
        )
    return bars


def format_ms(value: float | None) -> str:
    if value is None:
        return "—"
    if value < 1000:
        return f"{value:.0f} ms"
    if value < 120_000:
        return f"{value / 1000:.1f} s"
    return f"{value / 60_000:.1f} min"
