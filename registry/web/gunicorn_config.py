"""gunicorn's settings module for `registry serve --workers N` (`--config
python:registry.web.gunicorn_config`): the hooks of the metrics' multiprocess mode.

`registry serve` makes a directory of its own for the instance's metric files (each worker
writes its own, registry/web/metrics.py) and names it in PROMETHEUS_MULTIPROC_DIR before
gunicorn starts, so two instances on one host never mix their counts. Here:

- `child_exit`: a worker that exited (killed, recycled) stops counting in the live gauges
  (requests in flight, database threads); its counters are kept in the sums;
- `on_exit`: the master removes the directory when it stops, if `registry serve` made it
  (REGISTRY_METRICS_OWN_DIR names it); a directory the operator named is left alone.

And `pre_fork`: what the master loaded (the app, its spec and validators, preloaded) is moved
out of the garbage collector's sight before a worker is forked (`gc.freeze`). Those objects
live as long as the process; without this, every full collection in a worker walks all of
them again, which made a quarter of a 10,000-file batch's time (bench/results, issue 20), and
the walk touches their pages, which copies the memory the fork shared.

gunicorn reads every public name of this module as a setting: only the hooks are public.
"""

from __future__ import annotations

import gc as _gc
import os as _os
import shutil as _shutil


def pre_fork(server, worker):
    _gc.collect()  # what is garbage now is freed, not frozen for good
    _gc.freeze()


def child_exit(server, worker):
    if _os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)


def on_exit(server):
    own = _os.environ.get("REGISTRY_METRICS_OWN_DIR")
    if own and own == _os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        _shutil.rmtree(own, ignore_errors=True)
