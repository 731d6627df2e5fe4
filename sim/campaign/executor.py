"""Where runs execute: a local process pool by default, Ray when a Ray address is configured.

Both take the same jobs and yield the same results (a run is a pure function of its job), in
completion order. Locally each run is isolated in a spawned worker process; when a process
dies (segfault, out of memory) the pool breaks, is rebuilt, and the runs that were in flight
are retried with tenacity before being recorded as failed.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from multiprocessing import get_context
from typing import Protocol

from tenacity import RetryError, Retrying, retry_if_exception_type, stop_after_attempt

from robotops.errors import ConfigError
from robotops.settings import Settings
from robotops.sim.campaign.models import RunJob, RunResult
from robotops.sim.campaign.worker import execute_run, result_for

RunFn = Callable[[RunJob], RunResult]


class Executor(Protocol):
    """Runs jobs; yields one result per job, in whatever order they finish."""

    def run(self, jobs: list[RunJob]) -> Iterator[RunResult]: ...

    def close(self) -> None: ...


def worker_count(workers: int) -> int:
    return workers or os.cpu_count() or 1


class LocalExecutor:
    """A spawned process pool fed by one thread per worker slot, so at most ``workers`` runs
    are in flight and each slot can retry its own run when the pool breaks."""

    def __init__(self, workers: int = 0, retries: int = 2, fn: RunFn = execute_run) -> None:
        self.workers, self.retries, self.fn = worker_count(workers), retries, fn
        self._lock = threading.Lock()
        self._pool: ProcessPoolExecutor | None = None
        self._generation = 0

    def _current(self) -> tuple[ProcessPoolExecutor, int]:
        with self._lock:
            if self._pool is None:
                self._pool = ProcessPoolExecutor(self.workers, mp_context=get_context("spawn"))
            return self._pool, self._generation

    def _rebuild(self, generation: int) -> None:
        """Replace a broken pool once, however many slots noticed it."""
        with self._lock:
            if generation == self._generation and self._pool is not None:
                self._pool.shutdown(wait=False, cancel_futures=True)
                self._pool, self._generation = None, generation + 1

    def _attempt(self, job: RunJob) -> RunResult:
        pool, generation = self._current()
        try:
            return pool.submit(self.fn, job).result()
        except BrokenProcessPool:
            self._rebuild(generation)
            raise

    def _run_one(self, job: RunJob) -> RunResult:
        attempts = 0
        try:
            for attempt in Retrying(
                stop=stop_after_attempt(self.retries + 1),
                retry=retry_if_exception_type(BrokenProcessPool),
            ):
                with attempt:
                    attempts = attempt.retry_state.attempt_number
                    result = self._attempt(job)
        except RetryError:
            return result_for(
                job,
                status="failed",
                error=f"worker process died {attempts} time(s) running this job",
                attempts=attempts,
            )
        except Exception as exc:  # e.g. a job that cannot be sent to a worker: that run fails
            return result_for(job, status="failed", error=repr(exc)[:2000], attempts=attempts)
        return result.model_copy(update={"attempts": attempts})

    def run(self, jobs: list[RunJob]) -> Iterator[RunResult]:
        if not jobs:
            return
        with ThreadPoolExecutor(min(self.workers, len(jobs))) as slots:
            futures = [slots.submit(self._run_one, job) for job in jobs]
            for fut in as_completed(futures):
                yield fut.result()

    def close(self) -> None:
        with self._lock:
            if self._pool is not None:
                self._pool.shutdown(wait=True, cancel_futures=True)
                self._pool = None


class RayExecutor:
    """Runs on a Ray cluster; Ray is imported only here, only when configured."""

    def __init__(self, address: str, retries: int = 2, fn: RunFn = execute_run) -> None:
        try:
            import ray
        except ImportError as exc:
            raise ConfigError(
                f"a Ray address is configured ({address}) but the ray package is not installed: "
                "install it (pip install 'ray[default]') or unset ROBOTOPS_CAMPAIGN__RAY_ADDRESS "
                "to run campaigns on the local process pool"
            ) from exc
        self._ray = ray
        ray.init(address=address, ignore_reinit_error=True)
        self._remote = ray.remote(max_retries=retries)(fn)

    def run(self, jobs: list[RunJob]) -> Iterator[RunResult]:
        ray = self._ray
        pending = {self._remote.remote(job): job for job in jobs}
        while pending:
            done, _ = ray.wait(list(pending), num_returns=1)
            for ref in done:
                job = pending.pop(ref)
                try:
                    yield ray.get(ref)
                except ray.exceptions.RayError as exc:
                    yield result_for(job, status="failed", error=f"ray: {exc}"[:2000])

    def close(self) -> None:
        pass


def make_executor(
    settings: Settings, workers: int, retries: int, fn: RunFn = execute_run
) -> Executor:
    """The executor settings pick: Ray when ``campaign.ray_address`` is set, else local."""
    address = settings.campaign.ray_address
    if address:
        return RayExecutor(address, retries, fn)
    return LocalExecutor(workers or settings.campaign.workers, retries, fn)
