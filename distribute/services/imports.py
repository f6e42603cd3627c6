"""CSV imports started from the staff app or the API: they run apart from the request (a file of
a million rows takes minutes), and their progress and report are kept in `import_jobs`, so that
any web process can say how far one is.

The import runs in a thread of the process that received the file, reading it from a temporary
file it deletes when done. A process that ends mid-import (a deploy) leaves the job "running"
with an old `updated_at`: `get` reports it as interrupted, and running the same file again is
safe, since an import changes nothing the second time."""

from __future__ import annotations

import datetime as dt
import logging
import os
import threading
from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from distribute.errors import NotFound, UserError
from distribute.models import KINDS, ImportJob, utcnow
from distribute.services import contacts
from distribute.services.actor import EDIT, READ, Actor, require

log = logging.getLogger(__name__)
RUNNING, DONE, FAILED = "running", "done", "failed"
STALE_AFTER = dt.timedelta(minutes=10)  # a chunk of 2,000 rows takes seconds, never minutes

Runner = Callable[[Callable[[], None]], None]


def in_a_thread(work: Callable[[], None]) -> None:
    threading.Thread(target=work, name="distribute-import", daemon=True).start()


def job_dict(job: ImportJob) -> dict[str, Any]:
    state = job.state
    if state == RUNNING and utcnow() - job.updated_at > STALE_AFTER:
        state = "interrupted"
    total = job.bytes_total or 0
    return {"id": job.id, "state": state, "file": job.file_name, "kind": job.kind, "list": job.list_name,
            "tags": job.tags, "by": job.actor, "bytes_total": total, "bytes_done": job.bytes_done,
            "percent": 100 if state == DONE else (min(99, int(100 * job.bytes_done / total)) if total else 0),
            "report": job.report, "error": job.error, "created_at": job.created_at.isoformat(),
            "updated_at": job.updated_at.isoformat()}


def start(sessions: sessionmaker[Session], actor: Actor, path: str, *, file_name: str, kind: str,
          list_name: str | None = None, tags: Iterable[str] = (), run: Runner = in_a_thread) -> dict[str, Any]:
    """Start importing the file at `path` (this module deletes it when done); the job, running.
    `run` decides where the work happens (a thread; tests may run it at once)."""
    require(actor, EDIT)
    if kind not in KINDS:
        os.remove(path)
        raise UserError(f"unknown contact kind {kind!r}: use one of {', '.join(KINDS)}", field="kind")
    tags = [t for t in tags if t.strip()]
    with sessions.begin() as session:
        job = ImportJob(user_id=actor.user_id, actor=actor.name, file_name=file_name[:300] or "upload.csv",
                        kind=kind, list_name=list_name or None, tags=tags, state=RUNNING,
                        bytes_total=os.path.getsize(path), bytes_done=0)
        session.add(job)
        session.flush()
        started = job_dict(job)
    run(lambda: _work(sessions, actor, started["id"], path, started))
    return started


def _work(sessions: sessionmaker[Session], actor: Actor, job_id: int, path: str, job: dict) -> None:
    def progress(done: int) -> None:
        with sessions.begin() as session:
            session.execute(update(ImportJob).where(ImportJob.id == job_id).values(bytes_done=done, updated_at=utcnow()))

    try:
        report = contacts.import_csv(sessions, actor, path, kind=job["kind"], list_name=job["list"],
                                     tags=job["tags"], on_progress=progress, file_name=job["file"])
        outcome = {"state": DONE, "report": report}
    except UserError as exc:
        outcome = {"state": FAILED, "error": str(exc)[:2000]}
    except Exception as exc:  # noqa: BLE001 - the job must say it failed, whatever the cause
        log.exception("import %s failed", job_id)
        outcome = {"state": FAILED, "error": f"the import stopped ({type(exc).__name__}); the rows before it "
                                             "are imported, and importing the file again is safe"}
    finally:
        try:
            os.remove(path)
        except OSError:
            pass
    with sessions.begin() as session:
        session.execute(update(ImportJob).where(ImportJob.id == job_id).values(updated_at=utcnow(), **outcome))


def get(session: Session, actor: Actor, job_id: int) -> dict[str, Any]:
    require(actor, READ)
    job = session.get(ImportJob, job_id)
    if job is None:
        raise NotFound(f"no import {job_id}")
    return job_dict(job)
