"""Where a Registry worker spends its time under load: py-spy samples, summed like `py-spy top`.

py-spy's `top` is interactive; `record --format raw` writes the same samples as collapsed
stacks, which this sums into the two columns `top` shows: own time (the function is running)
and total time (the function is on the stack). Only samples of the thread holding the GIL are
taken (`--gil`): threads waiting for work are not time the worker spends. The frames every
sample shares (process start, the event loop's and the thread pool's run loops) are left out
of the total column, where they would all read ~100 %.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

ROOT = str(Path(__file__).resolve().parent.parent) + "/"
PLUMBING = (
    "gunicorn/",
    "uvicorn_worker/",
    "<frozen runpy>",
    "threading.py",
    "asyncio/runners.py",
    "asyncio/base_events.py",
    "asyncio/events.py",
    "uvicorn/_compat.py",
    "anyio/_backends/_asyncio.py",
)


def py_spy() -> str:
    found = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(found).exists():
        raise SystemExit("py-spy is not installed: pip install -e '.[bench]'")
    return found


def start(pid: int, seconds: float, out: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [
            py_spy(),
            "record",
            "--pid",
            str(pid),
            "--duration",
            str(int(seconds)),
            "--rate",
            "200",
            "--format",
            "raw",
            "--nonblocking",
            "--gil",
            "--output",
            str(out),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def top(raw: Path, limit: int = 15) -> dict:
    own, total, samples = Counter(), Counter(), 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack:
            continue
        n = int(count)
        frames = [_short(f) for f in stack.split(";")]
        frames = [f for f in frames if f]
        if not frames:
            continue
        samples += n
        own[frames[-1]] += n
        for frame in set(frames):
            if not frame.rpartition(" (")[2].startswith(PLUMBING):
                total[frame] += n
    return {
        "samples": samples,
        "own": [(name, 100.0 * n / samples) for name, n in own.most_common(limit)],
        "total": [(name, 100.0 * n / samples) for name, n in total.most_common(limit)],
    }


def _short(frame: str) -> str:
    """'execute (peewee.py:3301)' -> 'execute (peewee.py)'; the thread frame is dropped."""
    if frame.startswith(("process ", "thread ")):
        return ""
    name, _, where = frame.partition(" (")
    where = where.rstrip(")")
    path = where.rsplit(":", 1)[0]
    if path.startswith(ROOT):
        path = path[len(ROOT) :]
    for marker in ("site-packages/", "/lib/python3."):
        if marker in path:
            path = path.split(marker, 1)[1]
            break
    return f"{name} ({path})"
