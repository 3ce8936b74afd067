"""The built-in simulated OpenAI-compatible inference server.

- :mod:`~aiperf.sim.options`: :class:`SimOptions`, parsed from ``sim://?...`` URLs or flags.
- :mod:`~aiperf.sim.model`: the latency formulas (pure).
- :mod:`~aiperf.sim.scheduler`, :mod:`~aiperf.sim.engine`: the FIFO batch and the pacing that
  turn those formulas into token emission times under load.
- :mod:`~aiperf.sim.inputs`, :mod:`~aiperf.sim.payloads`: reading OpenAI requests, writing
  OpenAI responses and SSE chunks.
- :mod:`~aiperf.sim.prefix_cache`: the block-hashed LRU prefix cache whose hits shorten
  prefill and show in ``usage``, ``/metrics`` and ``/sim/stats``.
- :mod:`~aiperf.sim.faults`, :mod:`~aiperf.sim.stats`: injected faults; what the server did.
- :mod:`~aiperf.sim.profiles`: the real servers imitated (llama.cpp, vLLM, SGLang, TGI) and
  the facts each reproduces; :mod:`~aiperf.sim.tokenizer` their prompt-token counting;
  :mod:`~aiperf.sim.connection` their keep-alive quirks; :mod:`~aiperf.sim.extras` their
  ``/health``, ``/tokenize`` (:mod:`~aiperf.sim.tokenize_api`) and ``/metrics``
  (:mod:`~aiperf.sim.metrics` over :mod:`~aiperf.sim.prometheus`; the generic simulator
  serves ``/metrics`` with vLLM's names). :mod:`~aiperf.sim.load` integrates the batch's
  occupancy over time, which drives :mod:`~aiperf.sim.dcgm`'s simulated GPUs
  (``/dcgm/metrics``, with the ``gpus`` option).
- :mod:`~aiperf.sim.server`: the aiohttp application. :mod:`~aiperf.sim.inprocess` runs it on
  an ephemeral port on an event loop of its own, in a thread (``sim://`` runs: the client's
  loop stays the client's), or on the caller's loop; :mod:`~aiperf.sim.standalone` in the
  foreground for ``aiperf sim serve``.

Only ``server``, ``connection``, ``extras``, ``inprocess`` and ``standalone`` import
aiohttp; ``aiperf --help`` imports none of them.
"""
