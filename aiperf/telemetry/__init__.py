"""What the server and its GPUs did during a run: Prometheus server metrics and GPU
telemetry (DCGM exporters, or NVML for local GPUs), scraped off the request path,
summarised over the profiling window and exported beside the request records.

It imports nothing from ``bench``, ``plot``, ``cli`` or ``sim``: the runner starts and
stops the scrapers, the renderer reads the exports through ``aiperf.artifacts``.
"""
