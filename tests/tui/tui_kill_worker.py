"""Run the review app, accept records with real key presses, then die by SIGKILL at once.

    python tests/tui/tui_kill_worker.py WORKSPACE N
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

from curator.tui.app import ReviewApp


async def main(path: Path, n: int) -> None:
    app = ReviewApp(path, actor="killed")
    async with app.run_test(size=(100, 30)) as pilot:
        for _ in range(n):
            await pilot.press("a")
        print("accepted", flush=True)
        os.kill(os.getpid(), signal.SIGKILL)


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1]), int(sys.argv[2])))
