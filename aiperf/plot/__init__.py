"""``aiperf plot``: find run directories, load what they hold, and draw charts from them.

``discover`` finds the runs under the given paths and the plot mode (light: no pandas);
``frames`` turns a run's exports into pandas tables (imported only by the plot command).
"""
