"""Launch or re-execute `bpo_pipeline` on the instance of `$DAGSTER_HOME` (a test's subprocess).

    python -m tests.celery_driver '<run config as JSON>'
    python -m tests.celery_driver '<run config as JSON>' <parent run id>   # from failure

The executor and resources come from the environment (`BPO_EXECUTOR=celery`, `BPO_*`), as in
a deployment. Prints one JSON line: `{"run_id": …, "success": …}`.
"""

import json
import sys
from pathlib import Path

import dagster as dg
from dagster._core.definitions.reconstruct import ReconstructableRepository

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    run_config = json.loads(sys.argv[1])
    parent = sys.argv[2] if len(sys.argv) > 2 else None
    repo = ReconstructableRepository.for_module(
        "dagster_project.definitions", "defs", working_directory=str(ROOT)
    )
    job = repo.get_reconstructable_job("bpo_pipeline")
    with dg.DagsterInstance.get() as instance:
        options = dg.ReexecutionOptions.from_failure(parent, instance) if parent else None
        with dg.execute_job(
            job, instance=instance, run_config=run_config, reexecution_options=options
        ) as result:
            print(json.dumps({"run_id": result.run_id, "success": result.success}))


if __name__ == "__main__":
    main()
