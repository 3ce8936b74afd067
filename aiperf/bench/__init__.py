"""The load generator: build requests, send them, measure what comes back, compute metrics.

One job per module, in the order a run uses them:

- ``profile``: ``aiperf profile`` from a resolved config: prepare, run, measure, export.
- ``dataset`` and ``tokenizer``: the prompts to send and the token counter.
- ``payloads``: request bodies, endpoint URLs and headers, as a ``RequestSpec`` (pure).
- ``schedule`` and ``runner``: when requests are due, and driving them in flight.
- ``client``: send one request over the shared aiohttp session into a ``RequestRecord``;
  ``sse`` is its incremental stream parser and OpenAI chunk interpreter (pure).
- ``records``: the raw facts measured per request.
- ``metrics`` and ``stats``: records to the reference tool's metrics and statistics.
- ``export`` and ``naming``: the artifact directory, written safely (with
  :mod:`aiperf.artifacts` for ``run.json`` and atomic writes).
- ``console``: what a person sees during and after a run.

Importing this package imports none of them: aiohttp, for one, loads only with
``client``, so the configuration commands never pay for it.
"""
