"""The self-contained HTML report (``aiperf plot --html``) and its dashboard server."""
