"""``python -m aiperf``."""

from aiperf.cli import main

main()
