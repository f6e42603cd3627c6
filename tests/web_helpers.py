"""A campaign sent in the embedded mode to the file outbox, and the links its messages carry."""

from __future__ import annotations

import email
import re
from dataclasses import dataclass
from email import policy
from pathlib import Path

from conftest import REPO

BASE = "https://press.example.org"


@dataclass
class Sent:
    messages: dict[str, email.message.EmailMessage]  # recipient address -> message

    def html(self, address: str) -> str:
        return self.messages[address].get_body(("html",)).get_content()

    def text(self, address: str) -> str:
        return self.messages[address].get_body(("plain",)).get_content()

    def links(self, address: str) -> list[str]:
        return re.findall(r'href="([^"]+)"', self.html(address))

    def clicks(self, address: str) -> list[str]:
        return [link for link in self.links(address) if link.startswith(f"{BASE}/c/")]

    def pixel(self, address: str) -> str:
        return re.search(r'<img src="([^"]+/o/[^"]+)"', self.html(address)).group(1)

    def unsubscribe(self, address: str) -> str:
        header = str(self.messages[address]["List-Unsubscribe"])
        return re.search(r"<(https://[^>]+)>", header).group(1)


def path(url: str) -> str:
    assert url.startswith(BASE), url
    return url[len(BASE):]


def send_release(run_cli, outbox: Path, *extra: str, segment_rule: str = 'beat = "human rights"') -> Sent:
    assert run_cli("contacts", "import", REPO / "samples" / "contacts.csv", "--kind", "journalist").exit_code == 0
    assert run_cli("release", "add", REPO / "samples" / "release.md").exit_code == 0
    assert run_cli("segments", "add", "rights", "--where", segment_rule).exit_code == 0
    result = run_cli("send", "1", "--to", "rights", *extra)
    assert result.exit_code == 0, result.output
    messages = {}
    for file in outbox.rglob("*.eml"):
        msg = email.message_from_bytes(file.read_bytes(), policy=policy.default)
        messages[msg["To"].addresses[0].addr_spec] = msg
    return Sent(messages)
