"""The executor every Dagster job runs with: Dagster's own, inside the warehouse's run lock.

A run the CLI starts takes the lock itself (`orchestration.run_lock`). Runs that the daemon
(schedules, sensors) or the UI launch go through `dagster api execute_run` instead, where
the only code that sees the whole run is its executor. So the definitions' executor is
Dagster's default one (multiprocess, or in-process by config, with the same config
schema) wrapped in `hold_run_lock`: the lock is taken before the first step starts and
released after the last one ends. While another run holds it, the run fails before any
step runs, with the same "another run holds the warehouse since …, pid …" message as the
CLI, unless its `customer360/run_lock_wait_seconds` tag says how long to wait first.
The steps' child processes inherit `HELD_ENV`, so nothing inside the run takes it twice.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import dagster as dg
from dagster._core.definitions.executor_definition import multi_or_in_process_executor
from dagster._core.execution.retries import RetryMode
from dagster._core.execution.step_dependency_config import StepDependencyConfig

from orchestration.run_lock import hold_run_lock
from orchestration.settings import get_settings

if TYPE_CHECKING:
    from dagster._core.events import DagsterEvent
    from dagster._core.execution.context.system import PlanOrchestrationContext
    from dagster._core.execution.plan.plan import ExecutionPlan

#: a run tag: seconds to wait for the run lock before failing (default: fail at once).
RUN_LOCK_WAIT_TAG = "customer360/run_lock_wait_seconds"


def lock_wait_seconds(tags: dict[str, str]) -> float:
    """The run's wait for the lock, from its tag; a bad value is an error naming the tag."""
    value = tags.get(RUN_LOCK_WAIT_TAG, "0")
    try:
        seconds = float(value)
    except ValueError:
        raise dg.Failure(
            f"run tag {RUN_LOCK_WAIT_TAG}={value!r} is not a number of seconds"
        ) from None
    if seconds < 0:
        raise dg.Failure(f"run tag {RUN_LOCK_WAIT_TAG}={value!r} is negative")
    return seconds


class RunLockedExecutor(dg.Executor):
    """Runs `inner` (Dagster's executor) while holding the warehouse's run lock."""

    def __init__(self, inner: dg.Executor) -> None:
        self.inner = inner

    @property
    def retries(self) -> RetryMode:
        return self.inner.retries

    @property
    def step_dependency_config(self) -> StepDependencyConfig:
        return self.inner.step_dependency_config

    def execute(
        self, plan_context: PlanOrchestrationContext, execution_plan: ExecutionPlan
    ) -> Iterator[DagsterEvent]:
        run = plan_context.dagster_run
        wait = lock_wait_seconds(dict(run.tags))
        command = f"dagster run {run.run_id[:8]} ({run.job_name})"
        with hold_run_lock(get_settings().warehouse, wait_seconds=wait, command=command):
            yield from self.inner.execute(plan_context, execution_plan)


@dg.executor(
    name="run_locked_executor",
    config_schema=multi_or_in_process_executor.config_schema,
    requirements=multi_or_in_process_executor.get_requirements,
)
def run_locked_executor(init_context: dg.InitExecutorContext) -> dg.Executor:
    """Dagster's default executor (multiprocess unless configured `in_process`) under the
    warehouse's run lock."""
    return RunLockedExecutor(multi_or_in_process_executor.executor_creation_fn(init_context))
