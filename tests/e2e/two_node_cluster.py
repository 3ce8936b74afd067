"""Run ``aiperf profile ARGS --ray-address <cluster>`` on a two-node Ray cluster made on
this machine (``ray.cluster_utils.Cluster``, one CPU per node), in a process of its own:
a Ray cluster cannot be started in a process that has already run a local Ray.
Prints the profile's exit code on the last line."""

from __future__ import annotations

import sys

import ray
from ray.cluster_utils import Cluster
from typer.testing import CliRunner

from aiperf.cli import app


def main() -> None:
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1})
    try:
        cluster.add_node(num_cpus=1)
        cluster.wait_for_nodes()
        result = CliRunner().invoke(app, ["profile", *sys.argv[1:], "--ray-address",
                                          cluster.address])
        print(result.output)
        print(result.exit_code)
    finally:
        ray.shutdown()
        cluster.shutdown()


if __name__ == "__main__":
    main()
