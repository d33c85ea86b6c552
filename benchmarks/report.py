"""The report a person reads after `make bench`: a Markdown table and PNG charts."""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Figure:
    benchmark: str
    metric: str
    value: float
    unit: str
    target: str = ""
    met: bool | None = None


@dataclass
class Report:
    """Figures and chart series collected during a run, written out at its end."""

    quick: bool = False
    figures: list[Figure] = field(default_factory=list)
    series: dict[str, dict[str, list[tuple[float, float]]]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(list))
    )

    def add(
        self,
        benchmark: str,
        metric: str,
        value: float,
        unit: str,
        target: str = "",
        met: bool | None = None,
    ) -> None:
        self.figures.append(Figure(benchmark, metric, value, unit, target, met))

    def point(self, chart: str, line: str, x: float, y: float) -> None:
        """One (x, y) point of a line of a chart: ("TTFT p99 (ms)", "service", 100, 3.1)."""
        self.series[chart][line].append((x, y))

    def write(self, folder: Path) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        charts = self._charts(folder)
        lines = ["# Benchmark report", ""]
        if self.quick:
            lines += [
                "Quick mode: small samples, for checking the suite runs; not for figures, "
                "so no target is judged.",
                "",
            ]
        lines += self.table()
        lines.append("")
        for chart in charts:
            lines += [f"![{chart.stem}]({chart.name})", ""]
        summary = folder / "summary.md"
        summary.write_text("\n".join(lines))
        return summary

    def table(self) -> list[str]:
        """The figures as Markdown rows. A quick run's samples are too small to judge a target
        by, so it gives no met/not-met verdicts; a value no run could measure (a division by a
        CPU time that ticked 0) reads "n/a" rather than "inf"."""
        if self.quick:
            rows = ["| benchmark | metric | value | target |", "|---|---|---|---|"]
            return rows + [
                f"| {f.benchmark} | {f.metric} | {_value(f)} | {f.target} |" for f in self.figures
            ]
        rows = ["| benchmark | metric | value | target | met |", "|---|---|---|---|---|"]
        for f in self.figures:
            judged = f.met is not None and math.isfinite(f.value)
            met = ("yes" if f.met else "**no**") if judged else ""
            rows.append(f"| {f.benchmark} | {f.metric} | {_value(f)} | {f.target} | {met} |")
        return rows

    def _charts(self, folder: Path) -> list[Path]:
        if not self.series:
            return []
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        written = []
        for chart, lines in self.series.items():
            fig, ax = plt.subplots(figsize=(6.4, 4.0), dpi=110)
            for name, points in sorted(lines.items()):
                xs, ys = zip(*sorted(points), strict=True)
                ax.plot(xs, ys, marker="o", label=name)
            ax.set_xscale("log")
            ax.set_xlabel("concurrent streams")
            ax.set_ylabel(chart)
            ax.set_title(chart)
            ax.grid(True, alpha=0.3)
            ax.legend()
            fig.tight_layout()
            path = folder / (
                "".join(c if c.isalnum() else "_" for c in chart).strip("_").lower() + ".png"
            )
            fig.savefig(path)
            plt.close(fig)
            written.append(path)
        return written


def _value(figure: Figure) -> str:
    if not math.isfinite(figure.value):
        return "n/a"
    return f"{figure.value:,.3g} {figure.unit}"
