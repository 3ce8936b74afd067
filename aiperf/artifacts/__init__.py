"""The run directory's files, read and written by ``bench`` and ``plot`` alike.

- ``atomic``: writes a reader sees whole or not at all (temporary file, then rename).
- ``manifest``: ``run.json``, the run's files, export names, status and identity, and
  :func:`~aiperf.artifacts.manifest.read_run` to find them again.
- ``names``: the fixed names of the sweep aggregate's folder and files.

It imports nothing from ``bench``, ``plot``, ``cli`` or ``sim``
(``tests/unit/test_layering.py``).
"""
