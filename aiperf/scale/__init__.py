"""Load from many processes and machines: a run sharded over worker actors on Ray."""
