"""The figures across runs: latency against throughput and concurrency, and what the
search recipes find (the concurrency knee, the prefill fit, the decode surface, the SLA
boundary, the Pareto frontier), each drawn from the multi-run table (one row per run,
``<tag>_<stat>`` columns).

Repeated trials of one load get 95% Student-t intervals; cells the sweep aggregate marked
degraded are shown but never fitted.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator

from aiperf.plot.figure import (
    Skip,
    finish,
    fmt_load,
    fmt_value,
    metric_label,
    new_figure,
    themed_plot,
)
from aiperf.plot.frames import ANSWERS
from aiperf.plot.interval import t_interval
from aiperf.plot.pareto import pareto_front
from aiperf.plot.theme import Style, theme_of
from aiperf.recipes.curves import KNEE_METRIC, knee, ttft_fit


def _rows(table: pd.DataFrame, columns: Sequence[str], *, reason: str | None = None,
          minimum: int = 2) -> pd.DataFrame:
    """The rows that have every column, numeric; Skip when fewer than ``minimum``."""
    if all(c in table.columns for c in columns):
        out = table.copy()
        for c in columns:
            out[c] = pd.to_numeric(out[c], errors="coerce")
        out = out.dropna(subset=list(columns))
        if len(out) >= minimum:
            return out
    raise Skip(reason or f"needs at least {minimum} runs with {', '.join(columns)}")


def _degraded_mask(table: pd.DataFrame) -> pd.Series:
    """The rows of cells the sweep aggregate marked degraded (error rate over the limit).
    The runner decided it; a plot never re-judges error rates, it reads the verdict."""
    if "degraded" not in table.columns:
        return pd.Series(False, index=table.index)
    return table["degraded"].eq(True)


def _trusted_rows(table: pd.DataFrame, columns: Sequence[str], *, reason: str,
                  minimum: int = 2) -> pd.DataFrame:
    """:func:`_rows` without the degraded cells, which no fit may take as points; Skip
    saying so when they are what leaves too few."""
    rows = _rows(table, columns, reason=reason, minimum=minimum)
    trusted = rows[~_degraded_mask(rows)]
    if len(trusted) < minimum:
        raise Skip(f"fewer than {minimum} runs that are not degraded (error rate over the "
                   "limit)")
    return trusted


def _mark_degraded(ax: Axes, rows: pd.DataFrame, x: str, y: str) -> None:
    """The degraded cells as red crosses: shown, but part of no curve or frontier."""
    bad = rows[_degraded_mask(rows)]
    if len(bad):
        sns.scatterplot(x=bad[x].to_numpy(), y=bad[y].to_numpy(), ax=ax, marker="X", s=60,
                        color="#d62728", label="degraded (left out)", zorder=3)


def _load_column(table: pd.DataFrame) -> str | None:
    """What orders the points of a sweep: concurrency, else request rate, else nothing."""
    for column in ("concurrency", "request_rate"):
        if column in table.columns and pd.to_numeric(table[column], errors="coerce").notna().any():
            return column
    return None


def _groups(table: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    """One group per model (a single group named after the model, or ``runs``)."""
    if "model" not in table.columns or table["model"].isna().all():
        return [("runs", table)]
    models = table["model"].fillna("unknown model").astype(str)
    return [(str(m), table[models == m]) for m in pd.unique(models)]


def _has_trials(table: pd.DataFrame, keys: Sequence[str]) -> bool:
    return bool(table.duplicated(subset=list(keys)).any())


def _load_axis(ax: Axes, values: Sequence[float]) -> None:
    """Log2 x axis when the loads span 16x or more; ticks at the loads when few enough."""
    values = sorted({float(v) for v in values if v == v})
    if values and values[0] > 0 and values[-1] / values[0] >= 16:
        ax.set_xscale("log", base=2)
    if len(values) <= 12:
        ax.xaxis.set_major_locator(FixedLocator(values))
        ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _pos: fmt_load(x)))
        ax.xaxis.set_minor_locator(NullLocator())


def _xy_path(table: pd.DataFrame, style: Style, name: str, x: tuple[str, str],
             y: tuple[str, str]) -> Figure:
    """Points of (x, y) per load, joined in load order, one path per model; trials give CIs."""
    xcol, ycol = f"{x[0]}_{x[1]}", f"{y[0]}_{y[1]}"
    load = _load_column(table)
    rows = _rows(table, [xcol, ycol])
    theme = theme_of(style)
    fig, ax = new_figure(style)
    colours = iter(theme.palette * 8)
    for model, part in _groups(rows):
        colour = next(colours)
        if load is None:
            means = part.sort_values(xcol)[[xcol, ycol]].assign(_load=np.nan)
            trials = False
        else:
            part = part.assign(_load=pd.to_numeric(part[load], errors="coerce"))
            trials = _has_trials(part, ["_load"])
            means = part.groupby("_load", sort=True, dropna=False)[[xcol, ycol]].mean()
            means = means.reset_index()
        if trials:
            sns.scatterplot(x=part[xcol].to_numpy(), y=part[ycol].to_numpy(), ax=ax, s=18,
                            alpha=0.35, color=colour, linewidth=0, label=f"{model} trials")
            for _, cell in part.groupby("_load", sort=True):
                if len(cell) < 2:
                    continue
                (xl, xh), (yl, yh) = t_interval(cell[xcol]), t_interval(cell[ycol])
                xm, ym = cell[xcol].mean(), cell[ycol].mean()
                ax.errorbar([xm], [ym], xerr=[[xm - xl], [xh - xm]], yerr=[[ym - yl], [yh - ym]],
                            fmt="none", ecolor=colour, capsize=0, linewidth=1)
        sns.lineplot(x=means[xcol].to_numpy(), y=means[ycol].to_numpy(), ax=ax, estimator=None,
                     sort=False, marker="o", color=colour, linewidth=1.5,
                     label=f"{model} (mean, 95% t-interval)" if trials else model)
        if load is not None:
            prefix = "c=" if load == "concurrency" else "r="
            for _, point in means.iterrows():
                if point["_load"] == point["_load"]:
                    ax.annotate(f"{prefix}{fmt_load(point['_load'])}",
                                (point[xcol], point[ycol]), textcoords="offset points",
                                xytext=(5, 5), fontsize="x-small", color=theme.text)
    return finish(fig, ax, style, name, metric_label(*x), metric_label(*y))


@themed_plot
def ttft_vs_throughput(table: pd.DataFrame, style: Style) -> Figure:
    """TTFT p50 against output token throughput, one point per load, in load order."""
    return _xy_path(table, style, "ttft_vs_throughput", ("output_token_throughput", "avg"),
                    ("time_to_first_token", "p50"))


@themed_plot
def itl_vs_throughput_per_user(table: pd.DataFrame, style: Style) -> Figure:
    """ITL p50 against output token throughput per user, one point per load."""
    return _xy_path(table, style, "itl_vs_throughput_per_user",
                    ("output_token_throughput_per_user", "avg"), ("inter_token_latency", "p50"))


def _vs_concurrency(ax: Axes, rows: pd.DataFrame, column: str, label: str, colour: str,
                    *, marker: str = "o", linestyle: str = "-") -> None:
    trials = _has_trials(rows, ["concurrency"])
    sns.lineplot(x=rows["concurrency"].to_numpy(), y=rows[column].to_numpy(), ax=ax,
                 errorbar=t_interval if trials else None, marker=marker, color=colour,
                 linestyle=linestyle, linewidth=1.5,
                 label=f"{label} (mean, 95% t-interval)" if trials else label)


@themed_plot
def latency_percentiles_vs_concurrency(table: pd.DataFrame, style: Style) -> Figure:
    """Request latency p50, p90 and p99 against concurrency, one line per percentile."""
    stats = [s for s in ("p50", "p90", "p99") if f"request_latency_{s}" in table.columns]
    found = []
    for stat in stats:
        try:
            found.append((stat, _rows(table, ["concurrency", f"request_latency_{stat}"])))
        except Skip:
            continue
    if not found:
        raise Skip("needs at least 2 runs with concurrency and request_latency_p50, "
                   "request_latency_p90 or request_latency_p99")
    theme = theme_of(style)
    fig, ax = new_figure(style)
    loads: list[float] = []
    for (stat, rows), colour, dash in zip(found, theme.palette, ("-", "--", ":"), strict=False):
        _vs_concurrency(ax, rows, f"request_latency_{stat}", stat, colour, linestyle=dash)
        loads += list(rows["concurrency"])
    _load_axis(ax, loads)
    ylabel = metric_label("request_latency", " / ".join(stat for stat, _ in found))
    return finish(fig, ax, style, "latency_percentiles_vs_concurrency", "concurrency", ylabel)


@themed_plot
def throughput_vs_concurrency(table: pd.DataFrame, style: Style) -> Figure:
    """Output token throughput (left) and request throughput (right) against concurrency."""
    wanted = (("output_token_throughput", "avg"), ("request_throughput", "avg"))
    found = []
    for tag, stat in wanted:
        try:
            found.append((tag, stat, _rows(table, ["concurrency", f"{tag}_{stat}"])))
        except Skip:
            continue
    if not found:
        raise Skip("needs at least 2 runs with concurrency and output_token_throughput_avg "
                   "or request_throughput_avg")
    theme = theme_of(style)
    fig, ax = new_figure(style)
    tag, stat, rows = found[0]
    _vs_concurrency(ax, rows, f"{tag}_{stat}", metric_label(tag, stat), theme.palette[0])
    loads = list(rows["concurrency"])
    twin = None
    if len(found) > 1:
        twin = ax.twinx()
        tag2, stat2, rows2 = found[1]
        _vs_concurrency(twin, rows2, f"{tag2}_{stat2}", metric_label(tag2, stat2), theme.palette[1],
                        marker="s", linestyle="--")
        twin.set_ylabel(metric_label(tag2, stat2))
        twin.set_ylim(bottom=0)
        loads += list(rows2["concurrency"])
    ax.set_ylim(bottom=0)
    _load_axis(ax, loads)
    return finish(fig, ax, style, "throughput_vs_concurrency", "concurrency",
                  metric_label(tag, stat), twin=twin)


def _cells(rows: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    """Mean of ``columns`` per sweep cell (``cell``, else ``run_name``), with its load."""
    key = "cell" if "cell" in rows.columns and rows["cell"].notna().all() else "run_name"
    if key not in rows.columns:
        rows = rows.assign(run_name=[str(i) for i in range(len(rows))])
    load = _load_column(rows)
    extra = {"_load": (load, "first")} if load else {}
    if "model" in rows.columns and rows["model"].nunique() > 1:
        extra["_model"] = ("model", "first")
    agg = {c: (c, "mean") for c in columns} | extra
    out = rows.groupby(key, sort=False).agg(**agg).reset_index()
    return out.rename(columns={key: "_cell"})


@themed_plot
def pareto_frontier(table: pd.DataFrame, style: Style) -> Figure:
    """Every cell's (request latency p50, output throughput); the non-dominated ones joined.
    Degraded cells are marked but never on the frontier."""
    xcol, ycol = "request_latency_p50", "output_token_throughput_avg"
    rows = _rows(table, [xcol, ycol])
    trusted = rows[~_degraded_mask(rows)]
    if trusted.empty:
        raise Skip("every run is degraded (error rate over the limit): no frontier")
    cells = _cells(trusted, [xcol, ycol])
    answer = _answer(table, "pareto")
    if answer is not None and set(answer.get("pareto_optimal", ())) & set(cells["_cell"]):
        # The sweep's own frontier (its aggregate decided it, ties and all).
        front = cells["_cell"].isin(answer["pareto_optimal"]).to_numpy()
    else:
        front = pareto_front(cells[xcol].to_numpy(), cells[ycol].to_numpy())
    theme = theme_of(style)
    fig, ax = new_figure(style)
    if (~front).any():
        sns.scatterplot(x=cells.loc[~front, xcol].to_numpy(), y=cells.loc[~front, ycol].to_numpy(),
                        ax=ax, s=30, color=theme.grid if style.theme == "light" else "#777777",
                        edgecolor=theme.text, linewidth=0.3, label="dominated")
    best = cells[front].sort_values(xcol)
    sns.scatterplot(x=best[xcol].to_numpy(), y=best[ycol].to_numpy(), ax=ax, s=60,
                    color=theme.palette[0], label="Pareto-optimal", zorder=3)
    sns.lineplot(x=best[xcol].to_numpy(), y=best[ycol].to_numpy(), ax=ax, estimator=None,
                 sort=False, color=theme.palette[0], linewidth=1.5)
    for _, point in best.iterrows():
        text = (f"c={fmt_load(point['_load'])}" if "_load" in best.columns
                and point["_load"] == point["_load"] else str(point["_cell"]))
        if "_model" in best.columns:
            text = f"{point['_model']} {text}"
        ax.annotate(text, (point[xcol], point[ycol]), textcoords="offset points", xytext=(5, 5),
                    fontsize="x-small", color=theme.text)
    _mark_degraded(ax, rows, xcol, ycol)
    return finish(fig, ax, style, "pareto_frontier", metric_label("request_latency", "p50"),
                  metric_label("output_token_throughput", "avg"))


def knee_threshold(table: pd.DataFrame) -> float:
    """How far above the baseline p99 the knee is: the resolved
    ``benchmark.search.degradation_threshold`` the runs recorded (the value the runner
    judged the knee by). Runs that record none (AIPerf 0.13's) get what the rules
    resolve for a concurrency-ramp by default (``rules/recipes.yaml``)."""
    if "degradation_threshold" in table.columns:
        recorded = pd.to_numeric(table["degradation_threshold"], errors="coerce").dropna()
        if len(recorded):
            return float(recorded.iloc[-1])
    from aiperf.config.recipes import builtin_registry

    ramp = builtin_registry().recipes["concurrency-ramp"]
    return float(ramp.settings["benchmark.search.degradation_threshold"])


def _recipe_skip(recipe: str, what: str) -> str:
    return f"needs the results of a {recipe} search recipe ({what})"


def _answer(table: pd.DataFrame, analysis: str) -> Mapping[str, Any] | None:
    """The recipe's own answer for these runs (``sweep_aggregate/<recipe>.json``, see
    :func:`aiperf.plot.frames.recipe_answers`), or None: then the plot computes it from
    the table with the recipe's own function, never a second implementation."""
    answer = table.attrs.get(ANSWERS, {}).get(analysis)
    return answer if isinstance(answer, Mapping) else None


def _recipe_rows(rows: pd.DataFrame, key: str, columns: Sequence[str]) -> list[dict[str, Any]]:
    """The table as the recipes' rows: one per ``key`` value (the mean of its runs, as a
    cell of trials is), ``complete`` unless any of its runs is degraded."""
    degraded = _degraded_mask(rows)
    out = []
    for value, part in rows.groupby(key, sort=True):
        bad = bool(degraded[part.index].any())
        good = part[~degraded[part.index]]
        row: dict[str, Any] = {"cell": f"{key}{fmt_load(float(value))}", key: float(value),
                               "status": "degraded" if bad else "complete",
                               "reason": "degraded"}
        for column in columns:
            mean = good[column].mean() if len(good) else float("nan")
            row[column] = None if mean != mean else float(mean)
        out.append(row)
    return out


@themed_plot
def concurrency_knee(table: pd.DataFrame, style: Style) -> Figure:
    """Request latency p99 against concurrency, the baseline, the threshold and the knee.

    The knee is the concurrency-ramp's answer (:func:`aiperf.recipes.curves.knee`): read
    from the recipe's result when the runs have one, else computed from the table by the
    same function. The curve is that of the cells that are not degraded.
    """
    column = KNEE_METRIC
    reason = _recipe_skip("concurrency-ramp",
                          f"{column} at 3 or more concurrencies")
    rows = _rows(table, ["concurrency", column], reason=reason, minimum=3)
    if rows["concurrency"].nunique() < 3:
        raise Skip(reason)
    trusted = rows[~_degraded_mask(rows)]
    if trusted.empty:
        raise Skip("every run is degraded (error rate over the limit): no knee")
    answer = _answer(table, "knee") or knee(
        _recipe_rows(rows, "concurrency", [column, "output_token_throughput_avg"]
                     if "output_token_throughput_avg" in rows.columns else [column]),
        knee_threshold(rows))
    if "baseline_ms" not in answer:
        raise Skip(f"no knee: {answer.get('reason', 'no complete cell')}")
    baseline, threshold = float(answer["baseline_ms"]), float(answer["threshold"])
    limit = baseline * (1 + threshold)
    theme = theme_of(style)
    fig, ax = new_figure(style)
    _vs_concurrency(ax, trusted, column, "p99", theme.palette[0])
    lowest = float(answer["points"][0][0])
    ax.axhline(baseline, color=theme.text, linestyle=":", linewidth=1,
               label=f"baseline (concurrency {fmt_load(lowest)}) = {fmt_value(baseline)} ms")
    ax.axhline(limit, color=theme.palette[2], linestyle="--", linewidth=1,
               label=f"baseline + {threshold:.0%} = {fmt_value(limit)} ms")
    if answer.get("found"):
        at = float(answer["knee_concurrency"])
        why = ("degraded from" if answer.get("cause") == "errors"
               else "above the threshold from")
        ax.axvline(at, color=theme.palette[1], linestyle="-.", linewidth=1.5,
                   label=f"knee: {why} concurrency {fmt_load(at)}")
    else:
        top = max(float(p[0]) for p in answer["points"])
        ax.plot([], [], linestyle="none", label=f"no knee up to concurrency {fmt_load(top)}")
    _mark_degraded(ax, rows, "concurrency", column)
    _load_axis(ax, list(rows["concurrency"]))
    return finish(fig, ax, style, "concurrency_knee", "concurrency",
                  metric_label("request_latency", "p99"))


@themed_plot
def prefill_ttft_fit(table: pd.DataFrame, style: Style) -> Figure:
    """TTFT p50 against input length with the prefill-ttft-curve's fit
    (:func:`aiperf.recipes.curves.ttft_fit`: a line, or a quadratic when a line fits
    badly): the recipe's own when the runs have one, else the same function's over the
    table. Degraded cells are marked, never fitted."""
    column = "time_to_first_token_p50"
    reason = _recipe_skip("prefill-ttft-curve", f"isl and {column} at 2 or more input lengths")
    rows = _trusted_rows(table, ["isl", column], reason=reason)
    if rows["isl"].nunique() < 2:
        raise Skip(reason)
    fit = _answer(table, "ttft-fit") or ttft_fit(_recipe_rows(rows, "isl", [column]))
    if not fit.get("fitted"):
        raise Skip(f"no fit: {fit.get('reason', 'no complete cell')}")
    coeffs = np.array(fit["coefficients"], dtype=float)
    degree, r2 = int(fit["degree"]), float(fit["r2"])
    x, y = rows["isl"].to_numpy(), rows[column].to_numpy()
    theme = theme_of(style)
    fig, ax = new_figure(style)
    sns.scatterplot(x=x, y=y, ax=ax, s=40, color=theme.palette[0], label="measured")
    grid = np.linspace(x.min(), x.max(), 200)
    terms = " + ".join(f"{c:.3g}·isl^{degree - i}" if degree - i > 1 else
                       (f"{c:.3g}·isl" if degree - i == 1 else f"{c:.3g}")
                       for i, c in enumerate(coeffs))
    sns.lineplot(x=grid, y=np.polyval(coeffs, grid), ax=ax, estimator=None, sort=False,
                 color=theme.palette[1], linewidth=1.5,
                 label=f"{'linear' if degree == 1 else 'quadratic'} fit: {terms} (r² = {r2:.3f})")
    _mark_degraded(ax, _rows(table, ["isl", column], reason=reason), "isl", column)
    return finish(fig, ax, style, "prefill_ttft_fit", "input sequence length (tokens)",
                  metric_label("time_to_first_token", "p50"))


@themed_plot
def decode_itl_surface(table: pd.DataFrame, style: Style) -> Figure:
    """Heat map of ITL p50 by concurrency (columns) and output length (rows); a degraded
    cell is left blank."""
    column = "inter_token_latency_p50"
    reason = _recipe_skip("decode-itl-curve",
                          f"concurrency, osl and {column} at 2 or more of each")
    rows = _trusted_rows(table, ["concurrency", "osl", column], reason=reason)
    if rows["concurrency"].nunique() < 2 or rows["osl"].nunique() < 2:
        raise Skip(reason)
    grid = rows.pivot_table(index="osl", columns="concurrency", values=column, aggfunc="mean")
    grid = grid.sort_index(ascending=False)
    grid.index = [fmt_load(v) for v in grid.index]
    grid.columns = [fmt_load(v) for v in grid.columns]
    theme = theme_of(style)
    fig, ax = new_figure(style)
    sns.heatmap(grid, ax=ax, annot=True, fmt=".3g", cmap="viridis", linewidths=0.5,
                linecolor=theme.panel,
                cbar_kws={"label": metric_label("inter_token_latency", "p50")})
    colourbar = ax.collections[0].colorbar
    assert colourbar is not None  # heatmap draws one (cbar defaults to True)
    colourbar.ax.yaxis.label.set_color(theme.text)
    colourbar.ax.tick_params(colors=theme.text, labelcolor=theme.text)
    ax.grid(False)
    return finish(fig, ax, style, "decode_itl_surface", "concurrency",
                  "output sequence length (tokens)", legend=False)


#: The SLA searches' answers (``answer:`` in rules/recipes.yaml) and how the boundary
#: plot names the concurrency each chose.
_SEARCH_ANSWERS = {
    "max-concurrency": "max concurrency under the SLA",
    "max-throughput": "max throughput under the SLA at concurrency",
    "max-goodput": "max goodput with enough requests meeting every SLO at concurrency",
}


@themed_plot
def sla_boundary(table: pd.DataFrame, style: Style) -> Figure:
    """Throughput against concurrency, cells coloured by SLA verdict, the boundary marked."""
    reason = _recipe_skip("max-concurrency-under-sla",
                          "concurrency and sla_pass, with output_token_throughput_avg or "
                          "request_throughput_avg")
    if "sla_pass" not in table.columns:
        raise Skip(reason)
    ycol = next((c for c in ("output_token_throughput_avg", "request_throughput_avg")
                 if c in table.columns), None)
    if ycol is None:
        raise Skip(reason)
    rows = _rows(table.assign(sla_pass=table["sla_pass"].map(
        lambda v: np.nan if v is None or v != v else float(bool(v)))),
        ["concurrency", "sla_pass", ycol], reason=reason)
    verdict = rows.groupby("concurrency")["sla_pass"].min().astype(bool)  # every trial passes
    passed = rows["concurrency"].map(verdict).to_numpy()
    theme = theme_of(style)
    fig, ax = new_figure(style)
    _vs_concurrency(ax, rows, ycol, metric_label(*ycol.rsplit("_", 1)), theme.text, marker="")
    for mask, colour, label in ((passed, theme.palette[0], "meets the SLA"),
                                (~passed, "#d62728", "breaks the SLA")):
        if mask.any():
            sns.scatterplot(x=rows["concurrency"].to_numpy()[mask], y=rows[ycol].to_numpy()[mask],
                            ax=ax, s=50, color=colour, label=label, zorder=3)
    answer = next((a for a in map(lambda k: _answer(table, k), _SEARCH_ANSWERS) if a), None)
    if answer is not None and answer.get("found"):
        # The search's own answer: for max-throughput or goodput, the best passing
        # probe, which need not be the highest passing concurrency.
        at = float(answer["concurrency"])
        ax.axvline(at, color=theme.palette[0], linestyle="--", linewidth=1.5,
                   label=f"{_SEARCH_ANSWERS[str(answer['analysis'])]} = {fmt_load(at)}")
    elif answer is None and verdict.any():
        best = float(verdict[verdict].index.max())
        ax.axvline(best, color=theme.palette[0], linestyle="--", linewidth=1.5,
                   label=f"max concurrency under the SLA = {fmt_load(best)}")
    _load_axis(ax, list(rows["concurrency"]))
    return finish(fig, ax, style, "sla_boundary", "concurrency", metric_label(*ycol.rsplit("_", 1)))


@themed_plot
def throughput_per_gpu_vs_latency(table: pd.DataFrame, style: Style) -> Figure:
    """Output tokens/s per GPU against request latency p50, one path per model in load
    order: what a GPU delivers at each latency (runs with GPU telemetry only)."""
    return _xy_path(table, style, "throughput_per_gpu_vs_latency",
                    ("request_latency", "p50"), ("output_token_throughput_per_gpu", "avg"))


@themed_plot
def throughput_per_watt_vs_latency(table: pd.DataFrame, style: Style) -> Figure:
    """Output tokens/s per watt of GPU power against request latency p50, one path per
    model in load order: the energy-efficiency frontier (runs with GPU telemetry only)."""
    return _xy_path(table, style, "throughput_per_watt_vs_latency",
                    ("request_latency", "p50"), ("output_token_throughput_per_watt", "avg"))
