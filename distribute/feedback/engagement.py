"""Opens and clicks as they come back: whether an open was a machine's, and what is kept of the
client (its network, never its address).
"""

from __future__ import annotations

import functools
import ipaddress
import re

# Proxies that fetch images for the reader (Gmail, Yahoo) or for everyone at delivery (Apple Mail
# Privacy Protection), and link scanners: an open by any of them says nothing about a person.
_MACHINE_AGENTS = (
    ("gmail-proxy", re.compile(r"GoogleImageProxy|ggpht\.com", re.I)),
    ("yahoo-proxy", re.compile(r"YahooMailProxy", re.I)),
    ("scanner", re.compile(r"Barracuda|Mimecast|Proofpoint|Symantec|MessageLabs|SafeLinks|Forcepoint|"
                           r"Trend ?Micro|Sophos|bot\b|crawler|spider|python-requests|Python-urllib|aiohttp|curl/|Wget|"
                           r"Go-http-client|okhttp|Java/", re.I)),
)
# Apple's MPP fetches through Apple's own network, 17.0.0.0/8, with a browser-like agent that
# carries no mail client's name.
_APPLE = ipaddress.ip_network("17.0.0.0/8")


def machine_open(user_agent: str | None, ip: str | None, seconds_after_send: float | None,
                 scanner_window: float) -> str | None:
    """Why an open is a machine's ("apple-mpp", "gmail-proxy", "scanner", "too-soon"), or None."""
    agent = user_agent or ""
    kind = _agent_kind(agent)
    if kind is not None:
        return kind
    address = _address(ip)
    if address is not None and address.version == 4 and address in _APPLE:
        return "apple-mpp"
    if not agent.strip():
        return "scanner"
    if seconds_after_send is not None and 0 <= seconds_after_send < scanner_window:
        return "too-soon"
    return None


# Both cached: the regexes and the address parse were a third of the web app's cost of writing an
# open, and opens come from few mail clients (agents) and, in a burst, few addresses.
@functools.lru_cache(maxsize=4096)
def _agent_kind(agent: str) -> str | None:
    for name, pattern in _MACHINE_AGENTS:
        if pattern.search(agent):
            return name
    return None


@functools.lru_cache(maxsize=4096)
def _address(ip: str | None):
    try:
        address = ipaddress.ip_address((ip or "").strip())
    except ValueError:
        return None
    # "::ffff:17.1.2.3" is an IPv4 client seen through a dual-stack socket.
    return address.ipv4_mapped or address if address.version == 6 else address


@functools.lru_cache(maxsize=4096)
def truncate_ip(ip: str | None) -> str | None:
    """The network, not the host: /24 for IPv4, /48 for IPv6 (what analytics tools keep).
    Cached, as _address is: a burst of opens and clicks (a newsroom, a scanner) comes from few
    addresses."""
    address = _address(ip)
    if address is None:
        return None
    prefix = 24 if address.version == 4 else 48
    return str(ipaddress.ip_network(f"{address}/{prefix}", strict=False).network_address)


# A string that can only be IP addresses (one, or a comma-separated list as X-Forwarded-For
# writes them): checked before parsing, so ordinary text costs one regex match.
_IP_LIKE = re.compile(r"[0-9A-Fa-f.:, ]{2,}")


def truncate_ips(data):
    """Parsed JSON with every string that is an IP address (or a list of them) truncated as
    truncate_ip does: what a provider's raw payload keeps of a client is its network, as the
    event's own ip column does, whatever the provider calls the field."""
    if isinstance(data, dict):
        return {key: truncate_ips(value) for key, value in data.items()}
    if isinstance(data, list):
        return [truncate_ips(value) for value in data]
    if isinstance(data, str) and _IP_LIKE.fullmatch(data):
        networks = [truncate_ip(part) for part in data.split(",")]
        if all(networks):
            return ", ".join(networks)  # type: ignore[arg-type]
    return data
