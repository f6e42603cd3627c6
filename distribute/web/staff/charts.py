"""A line chart as SVG coordinates, computed here and drawn by templates/staff/results/_chart.html
(no script, nothing from another host); the page puts the same numbers in a table beside it."""

from __future__ import annotations

WIDTH, HEIGHT, LEFT, BOTTOM, TOP = 720, 240, 48, 28, 12


def _nice(top: int) -> int:
    """The axis' top: 1, 2 or 5 times a power of ten, at least `top`."""
    step = 1
    while True:
        for m in (1, 2, 5):
            if m * step >= top:
                return m * step
        step *= 10


def line_chart(buckets: list[dict], series: tuple[str, ...]) -> dict:
    """{"width", "height", "lines": [{"name", "points"}], "ticks": [(y, label)], "labels": [(x, text)]}."""
    top = _nice(max([b[name] for b in buckets for name in series] or [1]) or 1)
    plot_w, plot_h = WIDTH - LEFT - 8, HEIGHT - BOTTOM - TOP
    n = len(buckets)

    def x(i: int) -> float:
        return LEFT + (plot_w * i / (n - 1) if n > 1 else plot_w / 2)

    def y(value: int) -> float:
        return TOP + plot_h - plot_h * value / top

    lines = [{"name": name, "points": " ".join(f"{x(i):.1f},{y(b[name]):.1f}" for i, b in enumerate(buckets))}
             for name in series]
    ticks = [(y(top * k / 4), f"{int(top * k / 4):,}") for k in range(5)]
    every = max(1, n // 6)
    labels = [(x(i), b["at"][5:16].replace("T", " ")) for i, b in enumerate(buckets) if i % every == 0]
    return {"width": WIDTH, "height": HEIGHT, "left": LEFT, "bottom": HEIGHT - BOTTOM, "right": WIDTH - 8,
            "lines": lines, "ticks": ticks, "labels": labels}
