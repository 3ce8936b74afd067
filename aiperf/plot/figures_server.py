"""The figures of what the server reported during one run (its Prometheus metrics,
``server_metrics_export.jsonl``), each beside what the client measured: the server's
queue and its KV-cache use against the client's output throughput, and the server's own
TTFT against the client's.

Which series is the queue or the KV cache is the server's to say: the metric families
of each known server are data (``aiperf/telemetry/families/*.yaml``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure

from aiperf.plot.figure import Skip, finish, new_figure, themed_plot
from aiperf.plot.figures_run import beside_throughput, numeric_column, ok_requests
from aiperf.plot.theme import Style, theme_of
from aiperf.telemetry.families import ServerFamilies, detect, role_family

if TYPE_CHECKING:
    from aiperf.plot.frames import LoadedRun as LoadedRunLike

_NO_SERVER = ("needs server metrics, which this run did not scrape (the endpoint's "
              "/metrics did not answer, or scraping was off: see --scrape-server-metrics)")


def _server(run: LoadedRunLike) -> tuple[pd.DataFrame, ServerFamilies]:
    """The run's server series and the known server they come from; Skip otherwise (a run
    without a successful request is an error first, as for every run plot)."""
    ok_requests(run)
    series = run.server
    if series is None or series.empty:
        raise Skip(_NO_SERVER)
    names = {str(c).split("{", 1)[0] for c in series.columns}
    server = detect(names)
    if server is None:
        raise Skip("needs the metrics of a known server (vLLM, SGLang, TGI, llama.cpp, "
                   "TensorRT-LLM/Dynamo); this server's families are not among them")
    return series, server


def _role(series: pd.DataFrame, server: ServerFamilies, role: str
          ) -> tuple[np.ndarray, np.ndarray] | None:
    """(seconds since start, value in the role's unit) of ``role``, its series summed
    (several engines or label sets add up), time-ordered; None when the server lacks it."""
    names = {str(c).split("{", 1)[0] for c in series.columns}
    family = role_family(server, role, names)
    if family is None:
        return None
    columns = [c for c in series.columns if str(c).split("{", 1)[0] == family]
    values = series[columns].apply(pd.to_numeric, errors="coerce")
    total = values.sum(axis=1, min_count=1).to_numpy(dtype=float)
    if role.endswith("_seconds"):  # an interval mean: the series' mean, not their sum
        total = values.mean(axis=1).to_numpy(dtype=float)
    t = numeric_column(series, "timestamp_s")
    keep = ~(np.isnan(t) | np.isnan(total))
    if not keep.any():
        return None
    order = np.argsort(t[keep], kind="stable")
    return t[keep][order], total[keep][order] * server.roles[role].scale


@themed_plot
def server_queue_and_throughput_over_time(run: LoadedRunLike, style: Style) -> Figure:
    """The server's running and waiting requests (right axis) beside the client's output
    tokens/s (left): a growing queue at flat throughput is a saturated server."""
    series, server = _server(run)
    lines = [(label, *found) for role, label in (("requests_running", "server: running"),
                                                 ("requests_waiting", "server: waiting"))
             if (found := _role(series, server, role)) is not None]
    if not lines:
        raise Skip(f"needs the running and waiting requests, which {server.description}'s "
                   "metrics do not include")
    return beside_throughput(run, style, "server_queue_and_throughput_over_time", lines,
                             "server requests", drawstyle="steps-post")


@themed_plot
def server_kv_cache_and_throughput_over_time(run: LoadedRunLike, style: Style) -> Figure:
    """The server's KV-cache use in percent (right axis) beside the client's output
    tokens/s (left): a full cache is where preemption and queueing start."""
    series, server = _server(run)
    found = _role(series, server, "kv_cache_usage")
    if found is None:
        raise Skip(f"needs KV-cache use, which {server.description}'s metrics (this "
                   "version) do not include")
    t, fraction = found
    return beside_throughput(run, style, "server_kv_cache_and_throughput_over_time",
                             [("server: KV-cache use", t, fraction * 100)],
                             "KV-cache use (%)", top=100, drawstyle="steps-post")


@themed_plot
def server_vs_client_ttft_over_time(run: LoadedRunLike, style: Style) -> Figure:
    """Each request's TTFT as the client measured it, placed at its first token, and the
    server's own mean TTFT over each interval between two scrapes (drawn over the
    interval it covers): the gap is the client's and the network's share."""
    series, server = _server(run)
    found = _role(series, server, "ttft_seconds")
    if found is None:
        raise Skip(f"needs the server's TTFT histogram, which {server.description}'s "
                   "metrics do not include")
    ok = ok_requests(run)
    start, ttft = numeric_column(ok, "start_s"), numeric_column(ok, "ttft_ms")
    has = ~(np.isnan(start) | np.isnan(ttft))
    if not has.any():
        raise Skip("needs time to first token, which only streaming runs record")
    theme = theme_of(style)
    fig, ax = new_figure(style)
    first_token = start[has] + ttft[has] / 1000  # when the server observed it too
    sns.scatterplot(x=first_token, y=ttft[has], ax=ax, s=8, alpha=0.5, linewidth=0,
                    color=theme.palette[0], label="client: each request")
    t, seconds = found
    sns.lineplot(x=t, y=seconds * 1000, ax=ax, estimator=None, sort=False,
                 drawstyle="steps-pre", color=theme.palette[1], linewidth=1.8,
                 label="server: mean since the previous scrape")
    ax.set_ylim(bottom=0)
    return finish(fig, ax, style, "server_vs_client_ttft_over_time", "seconds since start",
                  "time to first token (ms)")
