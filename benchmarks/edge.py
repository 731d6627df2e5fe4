"""Benchmark: what the edge agent costs on the robot, and how fast incidents reach the site.

Prints, all measured in this run:
- recorder vs watcher: a recorder process writes split MCAP files at ``--rate-mbps`` MB/s for
  ``--seconds``; a watcher process scans every second. The watcher's CPU (% of one core, from
  its own rusage) and peak RSS (goal <= 5 % and <= 200 MB at 10 MB/s), and the recorder's CPU
  as the baseline of what writing the data costs;
- upload over a budget: incident windows sent through the outbox to a real gateway (uvicorn)
  at ``--link-mbps``: wall time / (bytes / link rate) (goal <= 1.2);
- resume: the sender SIGKILLed half-way, then restarted: bytes re-sent (goal 0).

    python benchmarks/edge.py [--rate-mbps 10] [--seconds 10] [--link-mbps 2] [--windows 6]
"""

from __future__ import annotations

import argparse
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from robotops.edge.gateway import create_gateway_app
from robotops.edge.outbox import Outbox, TokenBucket
from robotops.sim.fleet.serve import serve_in_thread

RECORDER = """
import os, sys, time
from mcap.writer import Writer
folder, rate, seconds, split = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
payload = os.urandom(100_000)  # a camera frame
per_s = rate * 1e6 / len(payload)
start, n, written, f, w = time.monotonic(), 0, 0, None, None
def open_next(k):
    f = open(os.path.join(folder, f"bag_{k}.mcap"), "wb")
    w = Writer(f, chunk_size=1 << 20)
    w.start(profile="", library="bench")
    s = w.register_schema(name="raw", encoding="", data=b"")
    return f, w, w.register_channel(topic="/camera", message_encoding="raw", schema_id=s)
k = 0
f, w, ch = open_next(k)
while time.monotonic() - start < seconds:
    t = time.time_ns()
    w.add_message(ch, log_time=t, publish_time=t, data=payload)
    n += 1; written += len(payload)
    if written >= split:
        w.finish(); f.close(); k += 1; written = 0
        f, w, ch = open_next(k)
    time.sleep(max(0.0, start + n / per_s - time.monotonic()))
w.finish(); f.close()
r = __import__("resource").getrusage(__import__("resource").RUSAGE_SELF)
print(r.ru_utime + r.ru_stime, time.monotonic() - start, flush=True)
"""

WATCHER = """
import resource, sys, time
from pathlib import Path
from robotops.edge.recordings import RecordingWatcher
from robotops.edge.store import EdgeStore
folder, db, seconds = Path(sys.argv[1]), Path(sys.argv[2]), float(sys.argv[3])
base = resource.getrusage(resource.RUSAGE_SELF)
watcher = RecordingWatcher(folder, EdgeStore(db), settle_s=5)
start = time.monotonic()
while time.monotonic() - start < seconds:
    watcher.scan()
    time.sleep(1.0)
watcher.scan()
r = resource.getrusage(resource.RUSAGE_SELF)
cpu = (r.ru_utime + r.ru_stime) - (base.ru_utime + base.ru_stime)
print(cpu, time.monotonic() - start, r.ru_maxrss / 1024, len(watcher.store.recordings("closed")))
"""


def recorder_vs_watcher(rate_mbps: float, seconds: float) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "bags"
        folder.mkdir()
        rec = subprocess.Popen(
            [sys.executable, "-c", RECORDER, str(folder), str(rate_mbps), str(seconds), "50000000"],
            stdout=subprocess.PIPE,
            text=True,
        )
        watch = subprocess.Popen(
            [sys.executable, "-c", WATCHER, str(folder), f"{tmp}/edge.db", str(seconds + 1)],
            stdout=subprocess.PIPE,
            text=True,
        )
        rec_cpu, rec_wall = map(float, rec.communicate()[0].split())
        cpu, wall, rss_mb, files = watch.communicate()[0].split()
        print(
            f"recorder: {rate_mbps:g} MB/s for {rec_wall:.1f} s, "
            f"CPU {100 * rec_cpu / rec_wall:.1f} %"
        )
        print(
            f"watcher:  CPU {100 * float(cpu) / float(wall):.2f} % of one core (goal <= 5), "
            f"peak RSS {float(rss_mb):.0f} MB (goal <= 200), {files} files indexed"
        )
        print(f"ratio watcher CPU / recorder CPU: {float(cpu) / rec_cpu:.3f}")


SENDER = """
import sys
from pathlib import Path
from robotops.edge.outbox import Outbox, TokenBucket
db, url, token, rate = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
box = Outbox(Path(db), "101", url, token, bucket=TokenBucket(rate, 64 << 10), chunk_bytes=64 << 10)
box.send_all(on_chunk=lambda item, n: print(n, flush=True))
"""


def upload(link_mbps: float, windows: int) -> None:
    token = "bench-site-token-" + "x" * 32
    rate = link_mbps * 1e6
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        app = create_gateway_app(tmp_path / "gw", token)
        files = []
        for i in range(windows):
            path = tmp_path / f"window_{i}.mcap"
            path.write_bytes(os.urandom(1_000_000))
            files.append(path)
        total = sum(p.stat().st_size for p in files)
        with serve_in_thread(app) as url:
            box = Outbox(tmp_path / "a.db", "101", url, token, bucket=TokenBucket(rate, 64 << 10))
            for p in files:
                box.enqueue(p, "incident")
            began = time.monotonic()
            box.send_all()
            wall = time.monotonic() - began
            print(
                f"upload: {total / 1e6:.1f} MB of incident windows at {link_mbps:g} MB/s in "
                f"{wall:.2f} s; ratio to bytes/link {wall / (total / rate):.3f} (goal <= 1.2)"
            )
            # resume after a SIGKILL half-way
            resume = Outbox(tmp_path / "b.db", "102", url, token)
            for p in files:
                resume.enqueue(p, "incident", upload_id=f"r-{p.name}")
            before = app.state.bytes_received
            proc = subprocess.Popen(
                [sys.executable, "-c", SENDER, str(tmp_path / "b.db"), url, token, str(rate)],
                stdout=subprocess.PIPE,
                text=True,
            )
            seen = 0
            while proc.stdout and seen < total // 2:
                line = proc.stdout.readline()
                if not line:
                    break
                seen += 64 << 10
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            Outbox(tmp_path / "b.db", "102", url, token).send_all()
            resent = app.state.bytes_received - before - total
            print(f"resume after SIGKILL half-way: {resent} bytes re-sent (goal 0)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rate-mbps", type=float, default=10.0)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--link-mbps", type=float, default=2.0)
    ap.add_argument("--windows", type=int, default=6)
    args = ap.parse_args()
    recorder_vs_watcher(args.rate_mbps, args.seconds)
    upload(args.link_mbps, args.windows)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"benchmark process peak RSS {peak:.0f} MB")


if __name__ == "__main__":
    main()
