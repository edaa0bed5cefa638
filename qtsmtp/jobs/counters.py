"""A job's counters beside its log: what the job counts but does not log every time
(WRKACTJOB option 5, Work with Job, shows them).

    QSYSWRK/joblog/NNNNNN.NAME.log.counts    one JSON object, {"name": number, ...}

Written whole (temporary file, rename), so a reader sees the old or the new counts.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from qtsmtp.store.durable import write_file


def counts_path(log_path: Path) -> Path:
    return log_path.with_name(log_path.name + ".counts")


def write_counts(log_path: Path, counts: dict) -> None:
    final = counts_path(log_path)
    tmp = final.with_name(f".{final.name}.{os.getpid()}.tmp")
    write_file(tmp, final, (json.dumps(counts, sort_keys=True).encode(),), 0o644,
               exclusive=False)


def read_counts(log_path: Path) -> dict:
    try:
        value = json.loads(counts_path(log_path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}
