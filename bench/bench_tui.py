"""Review app benchmark: open, move, page, accept / reject / label, filters, on a big workspace.

    python bench/bench_tui.py --n 1000000            # builds /tmp/curator_tui_1m.db once
    python bench/bench_tui.py --n 100000 --keys 100  # quicker
    python bench/bench_tui.py --first-screen WS.db --runs 5   # from the shell, start-up included

`--first-screen` runs `curator review WS.db` as a shell would (the console script next to this
interpreter, in a pseudo-terminal of --size) and times it from the start of the process to the
first screen: the output, read from the terminal, shows the status line's position and total
("1/1,000,000  all records"). CPU seconds are the child's (user + system, from /proc) at that
moment. Then it presses q and waits for the app to end. Set PYTHONPATH to time other code.

The workspace is made by bulk insert (bench/tui_workspace.py) and cached under /tmp. Timings are
Pilot timings: from sending a key until the app has handled it and is idle again (headless, so
terminal output is not included). Each decision is a committed SQLite transaction (WAL,
synchronous=FULL): its fsync time depends on the disk and on what else is writing to it.
Prints a table and one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import fcntl
import json
import os
import pty
import re
import resource
import select
import shutil
import signal
import statistics
import struct
import sys
import termios
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from textual import events
from tui_workspace import build

from curator.tui.app import ReviewApp
from curator.workspace import Workspace

FILTERS = ["status=pending", "label=tone", "issue=pii.email", "tokens>=500 tokens<=900",
           "split=holdout", "cluster=31", "status=accepted split=train label=refund",
           "search~temperature", "text~temperature"]


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, round(p / 100 * (len(xs) - 1)))]


#: filters for a workspace of real text (--ws): no labels, splits or clusters there
REAL_FILTERS = ["status=pending", "issue=any", "issue=none", "tokens>=500 tokens<=900",
                "text~temperature", "text~capital", "text~zzqq"]


async def run(path: Path, keys: int, size: tuple[int, int],
              filters_to_time: list[str] | None = None) -> dict[str, object]:
    out: dict[str, object] = {}
    t0 = time.perf_counter()
    app = ReviewApp(path, actor="bench")
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        out["open_first_page_s"] = time.perf_counter() - t0
        out["records"] = app.main.window.total

        # Every frame the app writes goes through App._display; its time stamps say when the
        # screen first showed the answer to a key and when it was complete.
        frames: list[float] = []
        display = app._display

        def stamped(*args: object, **kwargs: object) -> None:
            display(*args, **kwargs)  # type: ignore[arg-type]
            frames.append(time.perf_counter())

        app._display = stamped  # type: ignore[method-assign]

        async def timed(key: str, n: int) -> dict[str, float]:
            first, last, cpu, trip = [], [], [], []
            for _ in range(n):
                frames.clear()
                c, t = time.process_time(), time.perf_counter()
                await pilot.press(key)
                trip.append((time.perf_counter() - t) * 1000)
                cpu.append((time.process_time() - c) * 1000)
                if frames:
                    first.append((frames[0] - t) * 1000)
                    last.append((frames[-1] - t) * 1000)
            return {"first_frame_p50_ms": statistics.median(first),
                    "first_frame_p95_ms": pct(first, 95),
                    "complete_p50_ms": statistics.median(last), "complete_p95_ms": pct(last, 95),
                    "pilot_round_trip_p95_ms": pct(trip, 95),
                    "cpu_p50_ms": statistics.median(cpu), "n": n}

        for name, key in (("move_down", "j"), ("page_down", "pagedown"), ("move_up", "k"),
                          ("accept", "a"), ("reject", "X"), ("label", "1"), ("undo", "u")):
            out[name] = await timed(key, keys)
        await pilot.press("G")
        t = time.perf_counter()
        await pilot.press("g")
        out["jump_last_then_first_ms"] = (time.perf_counter() - t) * 1000
        with Workspace.open(path) as ws:
            pending = ws.search_index_pending()
            if pending and filters_to_time is None:
                t = time.perf_counter()
                ws.build_search_index()
                out["search_index_build_s"] = time.perf_counter() - t
                out["search_index_records"] = pending
        filters = {}
        for f in FILTERS if filters_to_time is None else filters_to_time:
            t = time.perf_counter()
            app.main.apply_filter(f.split())
            # text~ runs in a worker: the list shows its first matches before the count is done
            first = time.perf_counter() - t if app.main.window.where == f.split() else None
            while app.main._pending_where is not None:
                await asyncio.sleep(0.002)
                if first is None and app.main.window.where == f.split():
                    first = time.perf_counter() - t
            await app.workers.wait_for_complete()
            await pilot.pause()
            done = time.perf_counter() - t
            filters[f] = {"s": done, "first_page_s": done if first is None else first,
                          "matches": app.main.window.total}
        out["filters"] = filters
        # Paging through a text~ filter's matches (read by the ids its scan found).
        app.main.apply_filter(["text~temperature"])
        await app.workers.wait_for_complete()
        await pilot.pause()
        out["page_down_text_filter"] = await timed("pagedown", keys)

        # Keys while a text~ filter is counted in its worker (the list keeps answering). Not
        # with pilot.press: Pilot waits until the process's CPU time stops growing (up to 1 s),
        # which a busy worker thread never lets happen. Keys are posted as the terminal would,
        # and timed to the first frame after each.
        app.main.apply_filter([])
        await pilot.pause()
        app.main.apply_filter(["text~zzqq"])
        during: list[float] = []
        while app.main.message.startswith("filtering") and len(during) < 200:
            frames.clear()
            t = time.perf_counter()
            app.post_message(events.Key("j", "j"))
            while not frames and time.perf_counter() - t < 1:
                await asyncio.sleep(0.001)
            if frames and app.main.message.startswith("filtering"):
                during.append((frames[0] - t) * 1000)
            await asyncio.sleep(0.02)
        await app.workers.wait_for_complete()
        await pilot.pause()
        if during:
            out["move_during_text_filter"] = {"first_frame_p50_ms": statistics.median(during),
                                              "first_frame_p95_ms": pct(during, 95),
                                              "n": len(during)}

        if filters_to_time is not None:  # a real-text workspace: no splits to bulk-accept
            out["max_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            return out
        # Bulk accept over a filter (worker, chunks with progress, one entry), then its undo.
        app.main.apply_filter(["split=holdout"])
        await pilot.pause()
        matches = app.main.window.total
        t = time.perf_counter()
        await pilot.press("b", "a", "y")
        await app.workers.wait_for_complete()
        await pilot.pause()
        bulk_s = time.perf_counter() - t
        t = time.perf_counter()
        await pilot.press("u")  # over 1,000 changes: in a worker too
        await app.workers.wait_for_complete()
        await pilot.pause()
        out["bulk_accept"] = {"records": matches, "s": bulk_s,
                              "undo_s": time.perf_counter() - t}
        app.main.apply_filter([])
        await pilot.pause()
    out["max_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return out


_ANSI = re.compile(rb"\x1b(\[[0-9;?<=>]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)|[()][A-Za-z0-9]|[=>78])")
_FIRST = re.compile(rb"1/[0-9,]+ +all records")


def _cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _runqueue_s(pid: int) -> float:
    """Seconds the process's threads spent ready to run but waiting for a CPU (a loaded
    machine's share of the wall time; schedstat's second field)."""
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(OSError, IndexError, ValueError):
            total += int((task / "schedstat").read_text().split()[1])
    return total / 1e9


def first_screen(ws: Path, size: tuple[int, int], timeout: float = 60) -> dict[str, float]:
    """One `curator review ws` in a pseudo-terminal: seconds (wall, CPU) to the first screen."""
    script = Path(sys.executable).with_name("curator")
    cmd = [str(script), "review", str(ws)] if script.exists() else [
        sys.executable, "-m", "curator", "review", str(ws)]
    t0 = time.perf_counter()
    pid, fd = pty.fork()
    if pid == 0:  # the child: a terminal of the asked size, then the command
        fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", size[1], size[0], 0, 0))
        os.environ["TERM"] = os.environ.get("TERM", "xterm-256color")
        os.execv(cmd[0], cmd)
    out = b""
    wall = cpu = waited = float("nan")
    try:
        while time.perf_counter() - t0 < timeout:
            ready, _, _ = select.select([fd], [], [], 0.5)
            if not ready:
                continue
            try:
                chunk = os.read(fd, 1 << 16)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
            if _FIRST.search(_ANSI.sub(b"", out[-8192:])):
                wall = time.perf_counter() - t0
                cpu = _cpu_s(pid)
                waited = _runqueue_s(pid)
                break
        os.write(fd, b"q")
        end = time.perf_counter()
        while time.perf_counter() - end < 10:  # drain until it has quit
            ready, _, _ = select.select([fd], [], [], 0.5)
            if ready:
                try:
                    if not os.read(fd, 1 << 16):
                        break
                except OSError:
                    break
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
        os.waitpid(pid, 0)
        os.close(fd)
    return {"wall_s": wall, "cpu_s": cpu, "runqueue_s": waited}


def main() -> None:
    # An installed curator runs from compiled modules; with PYTHONDONTWRITEBYTECODE set (this
    # development machine sets it) every child would compile them again at each start.
    if os.environ.pop("PYTHONDONTWRITEBYTECODE", None):
        print("(PYTHONDONTWRITEBYTECODE is set here; the commands run without it, as an installed copy would)")
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--keys", type=int, default=200, help="presses per key action")
    ap.add_argument("--size", default="120x40", help="terminal size, COLSxROWS")
    ap.add_argument("--cache", type=Path, default=Path("/tmp"))
    ap.add_argument("--first-screen", type=Path, metavar="WS",
                    help="time `curator review WS` from the shell to its first screen, --runs times")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--ws", type=Path, help="time this workspace (e.g. an import of real text), "
                    "in place: the keys' decisions are made and undone in it; REAL_FILTERS")
    args = ap.parse_args()
    if args.first_screen:
        cols, rows = (int(x) for x in args.size.split("x"))
        runs = [first_screen(args.first_screen, (cols, rows)) for _ in range(args.runs)]
        walls, cpus = [r["wall_s"] for r in runs], [r["cpu_s"] for r in runs]
        waits = [r["runqueue_s"] for r in runs]
        print(f"first screen of curator review {args.first_screen}: wall median "
              f"{statistics.median(walls):.2f} s (min {min(walls):.2f}, max {max(walls):.2f}), "
              f"CPU median {statistics.median(cpus):.2f} s, waiting for a CPU median "
              f"{statistics.median(waits):.2f} s; load average "
              f"{os.getloadavg()[0]:.1f}; PYTHONPATH={os.environ.get('PYTHONPATH', '')}")
        print(json.dumps({"first_screen": runs}))
        return
    if args.ws:
        cols, rows = (int(x) for x in args.size.split("x"))
        result = asyncio.run(run(args.ws, args.keys, (cols, rows), REAL_FILTERS))
        _print(result)
        return
    cached = build(args.cache / f"curator_tui_{args.n}.db", args.n)
    # Work on a copy so the decisions made here never pile up in the cached file.
    work = args.cache / f"curator_tui_{args.n}_run.db"
    for suffix in ("", "-wal", "-shm", ".lock"):
        Path(f"{work}{suffix}").unlink(missing_ok=True)
    t = time.perf_counter()
    shutil.copy(cached, work)
    # Flush the copy to disk before timing: otherwise the kernel writes the fresh 1.8 GB back
    # while the benchmark runs and every commit's fsync waits behind it (seconds, not ms).
    os.sync()
    print(f"copied the cached workspace in {time.perf_counter() - t:.0f} s", file=sys.stderr)
    cols, rows = (int(x) for x in args.size.split("x"))
    result = asyncio.run(run(work, args.keys, (cols, rows)))
    _print(result)


def _print(result: dict[str, object]) -> None:
    print(f"records {result['records']:,}   open + first page {result['open_first_page_s']:.2f} s"
          f"   max RSS {result['max_rss_mb']:.0f} MB")
    for name in ("move_down", "move_up", "page_down", "accept", "reject", "label", "undo"):
        r = result[name]
        assert isinstance(r, dict)
        print(f"  {name:<10} first frame p50 {r['first_frame_p50_ms']:6.1f} p95 "
              f"{r['first_frame_p95_ms']:6.1f} ms   complete p50 {r['complete_p50_ms']:6.1f} p95 "
              f"{r['complete_p95_ms']:6.1f} ms   cpu p50 {r['cpu_p50_ms']:5.1f} ms   "
              f"(pilot round trip p95 {r['pilot_round_trip_p95_ms']:.0f} ms, n={r['n']})")
    r = result["page_down_text_filter"]
    assert isinstance(r, dict)
    print(f"  page down in text~temperature: complete p50 {r['complete_p50_ms']:.1f} p95 "
          f"{r['complete_p95_ms']:.1f} ms")
    print(f"  load average {os.getloadavg()[0]:.1f}; process CPU "
          f"{time.process_time():.1f} s")
    if "search_index_build_s" in result:
        print(f"  search index built once: {result['search_index_records']:,} records in "
              f"{result['search_index_build_s']:.1f} s")
    filters = result["filters"]
    assert isinstance(filters, dict)
    for f, r in filters.items():
        print(f"  filter {f:<42} {r['s']:6.3f} s (first page shown at {r['first_page_s']:.3f} s)"
              f"  {r['matches']:>9,} matches")
    if "move_during_text_filter" in result:
        r = result["move_during_text_filter"]
        assert isinstance(r, dict)
        print(f"  move down while text~ is counted: first frame p50 "
              f"{r['first_frame_p50_ms']:.1f} p95 {r['first_frame_p95_ms']:.1f} ms (n={r['n']})")
    bulk = result.get("bulk_accept")
    if not isinstance(bulk, dict):
        print(json.dumps(result))
        return
    print(f"  bulk accept over split=holdout: {bulk['records']:,} records in {bulk['s']:.2f} s"
          f" (worker, progress); its undo {bulk['undo_s']:.2f} s")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
