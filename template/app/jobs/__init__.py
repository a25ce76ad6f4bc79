"""Background jobs on PostgreSQL with procrastinate (docs/template/jobs.md).

- `app`: the procrastinate app; `connector`: how a job is queued in the caller's transaction.
- `queue`: what the web process may queue, one typed method per job.
- `tasks`: the jobs themselves; they call services, never HTTP code.
- `worker`: the worker process (`python -m app.jobs.worker`); `shutdown`: what its signals do,
  and the retry of the jobs a stop interrupts; `housekeeping`: the sweep for dead workers' jobs
  and the housekeeping queue; `tracing` (with otel): traces that follow a job.

Its modules sit in two layers (pyproject.toml's import contract): `queue` below the services,
which call it, and `tasks` and `worker` with the entry points, beside `app.api`. Nothing below
the queue imports the package, and the worker's side never imports the web's.
"""
