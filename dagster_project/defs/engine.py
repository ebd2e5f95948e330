"""The engine that runs the steps of the pipeline's jobs, chosen when the code location loads.

`BPO_EXECUTOR` (default `multiprocess`):

- `multiprocess` — Dagster's default: every step in its own process on this machine.
- `celery` — every step is a Celery task run by `dagster-celery` workers on any number of
  machines (`celery -A dagster_project.celery_worker worker`). The broker URL comes from
  `BPO_CELERY_BROKER` (e.g. `redis://:password@redis:6379/0`), the result backend from
  `BPO_CELERY_BACKEND` (default: the broker's URL); both only from the environment, never from
  run config. Asset values must live where every worker reaches them: a shared folder or an
  object store (`BPO_STORAGE`, see `dagster_project.defs.io`).
- `k8s` — every step in its own Kubernetes job (`dagster_k8s.k8s_job_executor`, installed with
  the `k8s` extra; the Helm deployment in `deploy/`).

When the broker cannot be reached the run fails with a message that names the broker's URL
(its password masked) instead of Celery's bare connection error. When a worker process dies
in the middle of a step (killed, out of memory), that step fails (`STEP_FAILURE` naming the
worker's loss) and the run ends as failed; re-execution from failure runs the step again.
"""

import os
from collections.abc import Iterator
from typing import Any

import dagster as dg

ENGINES = ("multiprocess", "celery", "k8s")
"""The values of `BPO_EXECUTOR`."""

BROKER_ENV = "BPO_CELERY_BROKER"
BACKEND_ENV = "BPO_CELERY_BACKEND"


class BrokerUnreachableError(Exception):
    """The Celery broker (or result backend) could not be reached during a run."""


def masked_url(url: str) -> str:
    """The URL with its password replaced by `**` (safe for logs and messages)."""
    from kombu.utils.url import maybe_sanitize_url  # noqa: PLC0415 (celery engine only)

    return str(maybe_sanitize_url(url))


def celery_urls() -> tuple[str, str]:
    """(broker, result backend) URLs from `BPO_CELERY_BROKER` / `BPO_CELERY_BACKEND`.

    Raises:
        RuntimeError: `BPO_CELERY_BROKER` is not set.
    """
    broker = os.environ.get(BROKER_ENV)
    if not broker:
        raise RuntimeError(f"{BROKER_ENV} is not set: export the Celery broker's URL")
    return broker, os.environ.get(BACKEND_ENV) or broker


def celery_app_args() -> dict[str, Any]:
    """Arguments of the Celery app of the executor and the workers (the same on both sides)."""
    from dagster_celery.executor import CeleryExecutor  # noqa: PLC0415 (celery engine only)

    broker, backend = celery_urls()
    return CeleryExecutor.for_cli(broker=broker, backend=backend).app_args()


def _broker_errors() -> tuple[type[BaseException], ...]:
    from kombu.exceptions import OperationalError  # noqa: PLC0415 (celery engine only)
    from redis.exceptions import ConnectionError as RedisConnectionError  # noqa: PLC0415
    from redis.exceptions import TimeoutError as RedisTimeoutError  # noqa: PLC0415

    return (OperationalError, RedisConnectionError, RedisTimeoutError, ConnectionError)


class _WatchedResult:
    """A step's Celery result; a task that dies without reporting becomes the step's failure.

    dagster-celery turns a task error (a worker process killed mid-step: `WorkerLostError`)
    into an executor error, stops submitting steps and then waits for the unsubmitted ones
    forever. Reported as the step's `STEP_FAILURE` instead, the run skips what depends on the
    step, ends as failed, and re-execution from failure runs that step again.
    """

    def __init__(self, result: Any, step_context: Any) -> None:
        self._result = result
        self._step_context = step_context

    def ready(self) -> bool:
        return bool(self._result.ready())

    def revoke(self) -> None:
        self._result.revoke()

    def get(self) -> list[str]:
        import sys  # noqa: PLC0415

        from celery.exceptions import TaskRevokedError  # noqa: PLC0415
        from dagster._core.events import DagsterEvent  # noqa: PLC0415
        from dagster._core.execution.plan.objects import StepFailureData  # noqa: PLC0415
        from dagster._serdes import serialize_value  # noqa: PLC0415
        from dagster._utils.error import serializable_error_info_from_exc_info  # noqa: PLC0415

        try:
            return self._result.get()
        except (TaskRevokedError, *_broker_errors()):
            raise
        except Exception as err:
            error = serializable_error_info_from_exc_info(sys.exc_info())
            event = DagsterEvent.step_failure_event(
                step_context=self._step_context,
                step_failure_data=StepFailureData(error=error, user_failure_data=None),
                message=f'The Celery worker running step "{self._step_context.step.key}" was '
                f"lost: {type(err).__name__}: {err}",
            )
            return [serialize_value(event)]


def _celery_executor() -> dg.ExecutorDefinition:
    from dagster._core.execution.retries import RetryMode  # noqa: PLC0415
    from dagster_celery.core_execution_loop import core_celery_execution_loop  # noqa: PLC0415
    from dagster_celery.executor import (  # noqa: PLC0415
        CELERY_CONFIG,
        CeleryExecutor,
        _submit_task,
    )

    def submit(  # noqa: PLR0917 (dagster-celery's step_execution_fn signature)
        app: Any, plan_context: Any, step: Any, queue: str, priority: int, known_state: Any
    ) -> _WatchedResult:
        result = _submit_task(app, plan_context, step, queue, priority, known_state)
        return _WatchedResult(result, plan_context.for_step(step))

    class BpoCeleryExecutor(CeleryExecutor):
        """dagster-celery's executor: a lost worker fails its step, a lost broker the run."""

        def execute(self, plan_context: Any, execution_plan: Any) -> Iterator[Any]:
            try:
                yield from core_celery_execution_loop(
                    plan_context, execution_plan, step_execution_fn=submit
                )
            except _broker_errors() as err:
                raise BrokerUnreachableError(
                    f"the Celery broker {masked_url(self.broker)} (result backend "
                    f"{masked_url(self.backend)}) cannot be reached: {type(err).__name__}: {err}. "
                    "Start it or fix BPO_CELERY_BROKER, then re-execute the run from failure."
                ) from err

    @dg.executor(
        name="celery",
        config_schema=CELERY_CONFIG,
        requirements=dg.multiple_process_executor_requirements(),
    )
    def bpo_celery_executor(init_context: dg.InitExecutorContext) -> BpoCeleryExecutor:
        config = init_context.executor_config
        return BpoCeleryExecutor(
            broker=config.get("broker"),
            backend=config.get("backend"),
            config_source=config.get("config_source"),
            include=config.get("include"),
            retries=RetryMode.from_config(config["retries"]),
        )

    backend_env = BACKEND_ENV if os.environ.get(BACKEND_ENV) else BROKER_ENV
    return bpo_celery_executor.configured(
        {"broker": {"env": BROKER_ENV}, "backend": {"env": backend_env}}
    )


def pipeline_executor() -> dg.ExecutorDefinition | None:
    """The executor named by `BPO_EXECUTOR`; None keeps Dagster's default (multiprocess).

    Raises:
        ValueError: `BPO_EXECUTOR` names no known engine.
    """
    engine = os.environ.get("BPO_EXECUTOR") or "multiprocess"
    if engine not in ENGINES:
        raise ValueError(f"BPO_EXECUTOR={engine!r}: use one of {', '.join(ENGINES)}")
    if engine == "celery":
        return _celery_executor()
    if engine == "k8s":
        from dagster_k8s import k8s_job_executor  # noqa: PLC0415 (the `k8s` extra)

        return k8s_job_executor
    return None
