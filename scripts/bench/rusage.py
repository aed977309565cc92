"""Runs processes for `npm run bench` and reports each one's wall time, CPU and peak RSS.

Why Python: Node cannot read a child's rusage (spawnSync gives none), and GNU time prints
CPU and wall to 10 ms, too coarse for a 30 ms process. os.wait4 gives the kernel's rusage of
the child (and of the children it waited for, e.g. the fake systemctl) to the microsecond.

Protocol: one JSON object per stdin line {"argv": [...], "env": {...}, "stdout": path,
"stderr": path}; one JSON line back per run {"status", "wall_ms", "user_ms", "sys_ms",
"maxrss_kb"}. The wall clock spans spawn to reaping, so this runner's own start-up is not in
it. It exits at end of input.
"""
import json
import os
import sys
import time

for line in sys.stdin:
    job = json.loads(line)
    actions = [
        (os.POSIX_SPAWN_OPEN, 0, "/dev/null", os.O_RDONLY, 0),
        (os.POSIX_SPAWN_OPEN, 1, job["stdout"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600),
        (os.POSIX_SPAWN_OPEN, 2, job["stderr"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600),
    ]
    start = time.perf_counter_ns()
    pid = os.posix_spawn(job["argv"][0], job["argv"], job["env"], file_actions=actions)
    _, status, usage = os.wait4(pid, 0)
    wall = time.perf_counter_ns() - start
    print(
        json.dumps(
            {
                "status": os.waitstatus_to_exitcode(status),
                "wall_ms": wall / 1e6,
                "user_ms": usage.ru_utime * 1e3,
                "sys_ms": usage.ru_stime * 1e3,
                "maxrss_kb": usage.ru_maxrss,
            }
        ),
        flush=True,
    )
