"""Opens and clicks as they come back: machine opens, and IPs kept as their network only."""

from __future__ import annotations

import pytest

from distribute.feedback.engagement import machine_open, truncate_ip, truncate_ips


@pytest.mark.parametrize("agent, ip, seconds, expected", [
    ("Mozilla/5.0 (Windows NT 10.0) Thunderbird/128", "198.51.100.1", 600, None),
    ("Mozilla/5.0 (via ggpht.com GoogleImageProxy)", "66.249.1.1", 600, "gmail-proxy"),
    ("YahooMailProxy; https://help.yahoo.com", None, 600, "yahoo-proxy"),
    ("Mozilla/5.0", "17.58.100.1", 600, "apple-mpp"),
    ("Mozilla/5.0", "::ffff:17.58.100.1", 600, "apple-mpp"),
    ("Mozilla/5.0 Barracuda", "203.0.113.9", 600, "scanner"),
    ("", "203.0.113.9", 600, "scanner"),
    ("Mozilla/5.0 (Macintosh) AppleWebKit", "203.0.113.9", 2, "too-soon"),
])
def test_machine_opens(agent, ip, seconds, expected):
    assert machine_open(agent, ip, seconds, 10) == expected


def test_ips_are_truncated():
    assert truncate_ip("203.0.113.77") == "203.0.113.0"
    assert truncate_ip("2001:db8:1:2:3::9") == "2001:db8:1::"
    assert truncate_ip("::ffff:198.51.100.23") == "198.51.100.0"
    assert truncate_ip("not an ip") is None and truncate_ip(None) is None


def test_ips_anywhere_in_a_payload_are_truncated_and_nothing_else_changes():
    payload = {"ip": "50.56.129.169", "client": {"X-Forwarded-For": "198.51.100.23, 2001:db8:1:2::9"},
               "list": ["::ffff:17.1.2.3", "face", "deadbeef", "1"], "Coords": "45.7536,19.9117",
               "text": "from 203.0.113.7", "n": 12, "none": None}
    assert truncate_ips(payload) == payload | {
        "ip": "50.56.129.0", "client": {"X-Forwarded-For": "198.51.100.0, 2001:db8:1::"},
        "list": ["17.1.2.0", "face", "deadbeef", "1"]}
