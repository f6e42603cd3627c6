"""Benchmark of the foundation: compile, per-recipient build, contact import.

Each figure is printed beside a baseline measured in the same run:
- compile: Jinja2 + premailer + text part, once per release and variant;
- per recipient: personalisation + MIME build (target under 0.5 ms on one core), against the
  naive way (Jinja2 render + premailer + email.message per recipient);
- DKIM: the same build signed (RSA 2048 and Ed25519: dkimpy's header, OpenSSL's signature),
  against unsigned and against dkimpy's own sign() (RSA in pure Python) in the same run;
- import: rows per second for N contacts (default 100,000) on SQLite, and on PostgreSQL when
  --pg URL is given, against row-by-row ORM inserts.

Run: .venv/bin/python bench/bench_foundation.py [--contacts 100000] [--pg postgresql+psycopg://postgres@127.0.0.1/test]
"""

from __future__ import annotations

import argparse
import base64
import csv
import datetime as dt
import secrets
import statistics
import sys
import tempfile
import time
from email.message import EmailMessage
from email.policy import SMTP
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from distribute.transport import dkim  # noqa: E402
from distribute.config import Settings  # noqa: E402
from distribute.contacts.importing import import_contacts  # noqa: E402
from distribute.db import make_engine, make_sessionmaker, upgrade  # noqa: E402
from distribute.sending.message import MessageBuilder, Recipient, new_ref  # noqa: E402
from distribute.models import Contact, Release  # noqa: E402
from distribute.releases import words as email_words  # noqa: E402
from distribute.releases.store import read_release  # noqa: E402
from distribute.releases.rendering import compile_release, environment, inline_css  # noqa: E402
from distribute.releases.content import body_html  # noqa: E402

SETTINGS = Settings(secret_key="bench", base_url="https://press.example.org")
FIXTURE = REPO.parent / "shared" / "fixtures" / "press-release-aleppo.txt"


def release_from(path: Path, title: str | None = None) -> Release:
    draft = read_release(path, zone=ZoneInfo("UTC"), title=title)
    return Release(id=1, slug="bench", **vars(draft))


def timed(fn, repeat: int) -> float:
    """Median seconds of one call."""
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def bench_compile(releases: dict[str, Release]) -> None:
    print("== compile (once per release and variant; median of 20)")
    for name, release in releases.items():
        for variant in ("journalist", "supporter"):
            seconds = timed(lambda: compile_release(release, variant, SETTINGS), 20)
            print(f"  {name:10} {variant:10} {seconds * 1000:7.1f} ms")


def naive_message(release: Release, recipient: Recipient) -> bytes:
    """What a per-recipient renderer does: the whole template, CSS inlining and MIME, every time."""
    html = environment().get_template("email/journalist.html").render(
        release=release, subject=release.title, organisation=SETTINGS.organisation,
        postal_address=SETTINGS.postal_address, web_url="https://press.example.org/r", embargo_line=None,
        contacts=[], notes=[], about_heading="About", w=email_words.words(release.language), dir="ltr", because="",
        preheader="", body=body_html(release.body, release.source_format, release.dateline),
        p={"greeting": f"Dear {recipient.name}", "recipient_line": recipient.email, "unsubscribe_url": "https://x",
           "preferences_url": "https://x"},
    )
    html = inline_css(html)
    msg = EmailMessage()
    msg["From"] = SETTINGS.sender
    msg["To"] = f"{recipient.name} <{recipient.email}>"
    msg["Subject"] = release.title
    msg.set_content(release.body, cte="quoted-printable")
    msg.add_alternative(html, subtype="html", cte="quoted-printable")
    return msg.as_bytes(policy=SMTP)


def bench_per_recipient(release: Release, n: int) -> None:
    print(f"== per recipient: personalise + MIME build ({n:,} recipients, one core)")
    builder = MessageBuilder(compile_release(release, "journalist", SETTINGS), SETTINGS)
    recipients = [Recipient(f"person{i}@outlet{i % 500}.example", f"Person Número {i}", f"Outlet {i % 500}") for i in range(n)]
    refs = [new_ref() for _ in range(n)]
    start = time.perf_counter()
    size = 0
    for recipient, ref in zip(recipients, refs):
        size += len(builder.build(recipient, ref))
    ours = (time.perf_counter() - start) / n
    naive_n = max(n // 100, 50)
    start = time.perf_counter()
    for recipient in recipients[:naive_n]:
        naive_message(release, recipient)
    naive = (time.perf_counter() - start) / naive_n
    print(f"  distribute : {ours * 1000:.3f} ms per recipient ({1 / ours:,.0f}/s), {size / n / 1024:.1f} KB per message")
    print(f"  naive      : {naive * 1000:.3f} ms per recipient ({1 / naive:,.0f}/s)  [Jinja2 + premailer + EmailMessage each time, {naive_n} recipients]")
    print(f"  speed-up   : {naive / ours:.0f}x; target < 0.5 ms: {'met' if ours < 0.0005 else 'NOT met'}")


def dkimpy_signing(signer: dkim.DkimSigner, pem: str):
    """dkimpy's own sign() with the same header list: the way messages were signed before."""
    import dkim as dkimpy
    from cryptography.hazmat.primitives import serialization

    key = serialization.load_pem_private_key(pem.encode(), password=None)
    if signer.key.kind == "rsa":
        private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                    serialization.NoEncryption())
    else:
        private = base64.b64encode(key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                                     serialization.NoEncryption()))

    def sign(message: bytes) -> bytes:
        names = signer.header_names(dkimpy.rfc822_parse(message)[0])
        return dkimpy.DKIM(message, signature_algorithm=signer.key.algorithm.encode()).sign(
            signer.selector.encode(), signer.domain.encode(), private, canonicalize=(b"relaxed", b"relaxed"),
            include_headers=names) + message
    return sign


def bench_dkim(release: Release, n: int) -> None:
    print(f"== DKIM: the per-recipient build signed vs unsigned ({n:,} recipients each, one core)")
    recipients = [Recipient(f"person{i}@outlet{i % 500}.example", f"Person Número {i}", f"Outlet {i % 500}") for i in range(n)]
    refs = [new_ref() for _ in range(n)]

    def per_message(settings: Settings, sign=None) -> float:
        builder = MessageBuilder(compile_release(release, "journalist", settings), settings)
        start = time.perf_counter()
        for recipient, ref in zip(recipients, refs):
            message = builder.build(recipient, ref)
            if sign:
                sign(message)
        return (time.perf_counter() - start) / n

    unsigned = per_message(SETTINGS)
    print(f"  unsigned    : {unsigned * 1000:.3f} ms per message ({1 / unsigned:,.0f}/s)")
    for label, ed25519_key in (("RSA 2048", False), ("Ed25519", True)):
        pem = dkim.generate_key(ed25519_key=ed25519_key).decode()
        settings = SETTINGS.model_copy(update={"dkim_selector": "bench", "dkim_private_key": pem})
        signed = per_message(settings)
        before = per_message(SETTINGS, dkimpy_signing(dkim.signer_for(settings), pem))
        print(f"  {label:11} : {signed * 1000:.3f} ms per message ({1 / signed:,.0f}/s), "
              f"signing {(signed - unsigned) * 1000:.3f} ms, {signed / unsigned:.1f}x the unsigned build")
        print(f"  {'':11}   dkimpy's own sign(): {before * 1000:.3f} ms per message ({1 / before:,.0f}/s), "
              f"signing {(before - unsigned) * 1000:.3f} ms -> {(before - unsigned) / (signed - unsigned):.0f}x "
              "less signing time now")


def write_contacts(path: Path, n: int) -> None:
    beats = ["middle east", "human rights", "politics", "climate", "health"]
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["email", "name", "outlet", "beat", "region", "language", "tags", "twitter"])
        for i in range(n):
            w.writerow([f"Reporter.{i}@Outlet{i % 2000}.example", f"Reporter {i}", f"Outlet {i % 2000}",
                        beats[i % 5], "Europe", "en", "press;2026" if i % 3 == 0 else "", f"@rep{i}"])


def naive_import(url: str, path: Path, limit: int) -> float:
    """Row by row through the ORM, a SELECT and an INSERT per contact: the obvious way."""
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    start = time.perf_counter()
    with sessions() as s:
        with path.open(encoding="utf-8") as f:
            reader = csv.DictReader(f)
            for i, row in enumerate(reader):
                if i >= limit:
                    break
                key = row["email"].strip().lower() + ".naive"
                if s.scalar(select(Contact.id).where(Contact.email_key == key)) is None:
                    s.add(Contact(email=key, email_key=key, name=row["name"], kind="journalist", outlet=row["outlet"], attributes={}))
                    s.commit()
    engine.dispose()
    return limit / (time.perf_counter() - start)


def bench_import(label: str, url: str, path: Path, n: int) -> None:
    engine = make_engine(url)
    upgrade(engine)
    sessions = make_sessionmaker(engine)
    start = time.perf_counter()
    report = import_contacts(sessions, path, kind="journalist", list_name="bench")
    seconds = time.perf_counter() - start
    start = time.perf_counter()
    again = import_contacts(sessions, path, kind="journalist", list_name="bench")
    reimport = time.perf_counter() - start
    engine.dispose()
    naive_rate = naive_import(url, path, 2000)
    print(f"  {label:10}: {n / seconds:9,.0f} rows/s ({n:,} rows in {seconds:.1f} s; imported {report.imported:,}); "
          f"re-import {n / reimport:,.0f} rows/s ({again.imported} new, {again.updated} updated); "
          f"naive row-by-row {naive_rate:,.0f} rows/s -> {n / seconds / naive_rate:.0f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--recipients", type=int, default=20_000)
    parser.add_argument("--signed", type=int, default=2_000, help="recipients per DKIM measurement")
    parser.add_argument("--pg", help="an admin URL of a PostgreSQL server: a scratch database is made and dropped")
    args = parser.parse_args()

    releases = {"sample": release_from(REPO / "samples" / "release.md")}
    if FIXTURE.exists():
        releases["fixture"] = release_from(FIXTURE, "Office destroyed")
    print(f"distribute foundation benchmark, {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, Python {sys.version.split()[0]}")
    bench_compile(releases)
    bench_per_recipient(releases["sample"], args.recipients)
    bench_dkim(releases["sample"], args.signed)

    print(f"== contact import ({args.contacts:,} rows, CSV with 8 columns, list membership, tags)")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "contacts.csv"
        write_contacts(path, args.contacts)
        bench_import("SQLite", f"sqlite:///{tmp}/bench.db", path, args.contacts)
        if args.pg:
            name = f"distribute_bench_{secrets.token_hex(4)}"
            admin = create_engine(args.pg, isolation_level="AUTOCOMMIT")
            with admin.connect() as c:
                c.execute(text(f'CREATE DATABASE "{name}"'))
            try:
                bench_import("PostgreSQL", make_url(args.pg).set(database=name).render_as_string(hide_password=False), path, args.contacts)
            finally:
                with admin.connect() as c:
                    c.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))


if __name__ == "__main__":
    main()
