"""Run by the fault tests as a separate process, so that it can be killed for real.

Each mode prints `committed N` after every commit, flushing, so the test knows what must be
in the workspace whatever moment the kill lands.

    python tests/workspace/store_fault_worker.py import WS FILE BATCH
    python tests/workspace/store_fault_worker.py accept WS CHUNK
    python tests/workspace/store_fault_worker.py hold WS SECONDS
"""

from __future__ import annotations

import sys
import time

from curator.workspace import Workspace
from curator.workspace.importer import FileReport, import_files
from curator.workspace.prepare import Preparer


def main() -> None:
    mode, ws_path = sys.argv[1], sys.argv[2]
    ws = Workspace.open(ws_path, create=(mode == "import"))
    if mode == "import":
        def progress(fr: FileReport) -> None:
            print(f"committed {fr.rows}", flush=True)

        import_files(ws, [sys.argv[3]], Preparer("openai", count_tokens=False), progress=progress,
                     batch_size=int(sys.argv[4]))
    elif mode == "accept":
        chunk = int(sys.argv[3])
        top = ws.count()
        for start in range(1, top + 1, chunk):
            ws.set_status(None, "accepted", where=[f"id>={start}", f"id<{start + chunk}"])
            print(f"committed {min(start + chunk - 1, top)}", flush=True)
    elif mode == "hold":
        with ws._transaction():
            ws.connection.execute("UPDATE meta SET value = value WHERE key = 'application'")
            print("locked", flush=True)
            time.sleep(float(sys.argv[3]))
    print("finished", flush=True)


if __name__ == "__main__":
    main()
