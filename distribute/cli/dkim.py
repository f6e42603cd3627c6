"""`distribute dkim …`: make a signing key, and say what the sending domain still lacks.

Neither command reads the database or the network."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.markup import escape

from distribute.transport import dkim as keys
from distribute.cli.common import App, console, json_option, pass_app, print_json
from distribute.errors import UserError
from distribute.sending.domain import ERROR, OK, check_domain


@click.group("dkim")
def dkim() -> None:
    """DKIM signing keys and the DNS records a sending domain needs."""


@dkim.command("keygen")
@click.option("--selector", required=True, help="The selector the key is published under, e.g. press2026.")
@click.option("--domain", help="The signing domain. [default: DISTRIBUTE_DKIM_DOMAIN, else the sender's domain]")
@click.option("--ed25519", "ed25519_key", is_flag=True, help="An Ed25519 key instead of RSA 2048 (RFC 8463).")
@click.option("--out", type=click.Path(path_type=Path, dir_okay=False),
              help="Where to write the private key (never over an existing file). [default: dkim-SELECTOR.pem]")
@json_option
@pass_app
def keygen(app: App, selector: str, domain: str | None, ed25519_key: bool, out: Path | None, as_json: bool) -> None:
    """Make a private key and print the DNS TXT record that publishes it.

    Publish the record, then set DISTRIBUTE_DKIM_SELECTOR and DISTRIBUTE_DKIM_PRIVATE_KEY_FILE
    (and DISTRIBUTE_DKIM_DOMAIN if it is not the sender's domain); `distribute dkim check` says
    what else the domain needs.

    Example: distribute dkim keygen --selector press2026 --out /etc/distribute/dkim.pem
    """
    try:
        selector = keys.dns_name(selector, "selector")
        domain = keys.dns_name(domain, "domain") if domain else keys.signing_domain(app.settings)
        out = out or Path(f"dkim-{selector}.pem")
        pem = keys.generate_key(ed25519_key=ed25519_key)
        keys.write_new_key(out, pem)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    key = keys.load_key(pem)
    record = keys.dns_record(key, selector, domain)
    if as_json:
        print_json({"selector": selector, "domain": domain, "kind": key.kind, "bits": key.bits, "key_file": str(out),
                    "record_name": keys.record_name(selector, domain), "txt": key.txt_value(), "record": record})
        return
    console.print(f"private key ({key.kind}, {key.bits} bits) written to {escape(str(out))} (readable by its owner only)")
    console.print("publish this DNS record:")
    sys.stdout.write(record + "\n")
    console.print(f"then set DISTRIBUTE_DKIM_SELECTOR={selector} DISTRIBUTE_DKIM_PRIVATE_KEY_FILE={escape(str(out.resolve()))}"
                  + ("" if domain == keys.signing_domain(app.settings) else f" DISTRIBUTE_DKIM_DOMAIN={domain}"))


@dkim.command("check")
@json_option
@pass_app
def check(app: App, as_json: bool) -> None:
    """Say what the sending domain still lacks, without the network; exits 1 on an error.

    Checks: a DKIM key and selector configured and a sample message that verifies with them;
    the DKIM domain aligned with the From domain (DMARC); the bounce domain aligned with the
    From domain (SPF); List-Unsubscribe and List-Unsubscribe-Post signed and an https
    unsubscribe link (RFC 8058). Prints the DKIM record to publish, and SPF and DMARC records
    to adapt.
    """
    report = check_domain(app.settings)
    if as_json:
        print_json({"ok": report.ok, "findings": [f.to_dict() for f in report.findings], "records": report.records})
    else:
        colours = {OK: "green", ERROR: "red"}
        for f in report.findings:
            console.print(f"[{colours.get(f.severity, 'yellow')}]{f.severity:7}[/] {escape(f.message)}")
        console.print("records to publish (SPF and DMARC: suggestions to adapt):")
        for record in report.records:
            sys.stdout.write(record + "\n")
    if not report.ok:
        sys.exit(1)


COMMANDS = [dkim]
