"""The words of SMTP replies, by what they say: the tables `distribute.feedback.replies` judges
a reply with (its docstring gives the reasoning). Kept apart so that the wordings real MTAs use
can grow without the rules growing with them.

Every pattern here is linear in the text it reads (a reply comes from anyone's server).
"""

from __future__ import annotations

import re


def _rx(*alternatives: str) -> re.Pattern[str]:
    return re.compile("|".join(alternatives), re.IGNORECASE)


# Signals about the sender or the message. Checked in this order; the first that matches names
# the category. They are never a hard bounce.
SENDER_SIGNALS: list[tuple[str, re.Pattern[str]]] = [
    ("relay", _rx(
        r"relay(?:ing)?\s+(?:access\s+)?(?:denied|not\s+permitted|prohibited|not\s+allowed)",
        r"unable\s+to\s+relay", r"not\s+permitted\s+to\s+relay", r"(?:we\s+)?do\s+not\s+relay",
    )),
    ("auth", _rx(
        r"\bspf\b", r"\bdkim\b", r"\bdmarc\b", r"unauthenticated", r"not\s+authenticated",
        r"authentication\s+(?:failed|required|credentials|results|mechanism)", r"must\s+authenticate",
    )),
    ("rate-limited", _rx(
        r"rate[\s-]?limit", r"unusual\s+rate", r"too\s+many", r"too\s+(?:quickly|fast)", r"throttl",
        r"sending\s+(?:quota|limit)", r"(?:daily|hourly)\s+(?:[\w-]+\s+){0,3}(?:quota|limit)",
        r"unexpected\s+volume", r"slow\s+down",
    )),
    ("spam", _rx(
        r"\bspam\b", r"spam-?like", r"\bjunk\b", r"unsolicited", r"\bvirus\b", r"malware", r"phish",
        r"content\s+(?:rejected|filter)", r"bulk\s+mail",
    )),
    ("blocked", _rx(
        r"\bblock(?:ed|list|\s+list)\b", r"black\s?list", r"deny\s?list", r"(?<!not )\blisted\b",
        r"spamhaus", r"barracuda", r"spamcop", r"\bsorbs\b", r"\brbl\b", r"dnsbl",
        r"reputation", r"\bbanned\b",
    )),
    ("policy", _rx(
        r"\bpolic(?:y|ies)\b", r"administrative(?:ly)?\s+prohibit", r"prohibition", r"access\s+denied",
        r"not\s+authori[sz]ed", r"sender\s+verif", r"content\s+restriction",
        # a refusal of our sender address, whatever it then says ("... Domain not found")
        r"sender\s+(?:address\s+)?(?:rejected|refused|denied|not\s+allowed|invalid|unknown)",
    )),
]
MAILBOX_FULL = _rx(
    r"mailbox\s+(?:is\s+)?full", r"full\s+mailbox", r"over\s*quota", r"quota\s+exceeded",
    r"exceed(?:ed|s|ing)?\s+(?:(?:its|their|the|his|her)\s+)?(?:storage|quota)",
    r"insufficient\s+(?:system\s+)?storage", r"mailbox\s+size\s+limit", r"out\s+of\s+storage",
    r"storage\s+(?:space|allocation|quota)",
    # Wordings found in returned mail (tests/data/bounces): Sendmail/VMS "disk quota exceeded",
    # qmail-ldap "user's mailfolder is full", IMail "Quota violation".
    r"\bdisk\s+quota\b", r"reached\s+(?:(?:its|their|the|his|her)\s+)?quota", r"mail\s?folder\s+is\s+full",
    r"quota\s+violation", r"too\s+much\s+mail\s+stored", r"mailbox\s+quota",
)
TOO_BIG = _rx(
    r"too\s+(?:big|large)", r"message\s+size", r"size\s+(?:limit|exceeds)", r"message\s+length\s+exceeds",
    r"exceeds?\s+(?:the\s+)?(?:maximum|fixed)", r"maximum\s+(?:message\s+)?size",
)
# Wordings that say the address is dead, for replies without a specific enhanced code.
DOMAIN_UNKNOWN = _rx(
    r"domain\s+(?:name\s+)?(?:not\s+found|does\s*n[o']?t\s+exist|is\s+unknown|unknown)",
    r"unknown\s+domain", r"no\s+such\s+domain", r"host\s+(?:not\s+found|unknown)", r"unknown\s+host",
    r"\bhost\s+[\w-]+(?:\.[\w-]+)+\s+not\s+found",  # DragonFly: "DNS lookup failure: host x.example not found"
    r"(?:host|domain)\s+does\s+not\s+accept\s+mail",  # a null MX (RFC 7505), in Sendmail's and Sun's words
    r"null\s+mx", r"\bnxdomain\b", r"invalid\s+domain", r"no\s+mx\s+records?\s+(?:found|for|exists?)",
    r"domain\s+(?:is\s+)?not\s+reachable",  # Outlook.com: "the domain is not reachable"
    r"domain\s+must\s+exist", r"name\s+or\s+service\s+not\s+known",  # getaddrinfo's EAI_NONAME
)
# What a permanent X.4.4 ("unable to route") says when the routing failed in the DNS: the
# recipient's domain has no usable MX. Postfix: "Name service error for name=x type=MX: ...".
DNS_FAILED = _rx(r"name\s+service\s+error", r"\bno\s+mx\b", r"type=mx\b")
ACCEPTS_NO_MAIL = _rx(r"(?:host|domain)\s+does\s+not\s+accept\s+mail")
# A DNS lookup that failed for now (Postfix "Host not found, try again": TRY_AGAIN), not a domain
# that does not exist.
DNS_FOR_NOW = _rx(r"try\s+again", r"temporar(?:y|ily)", r"timed?\s*out")
MAILBOX_UNKNOWN = _rx(
    r"user\s+unknown", r"unknown\s+(?:user|recipient|mailbox|local[\s-]?part|address)",
    r"no\s+such\s+(?:user|mailbox|recipient|account|address|person)",
    r"(?:mailbox|recipient|user|account|address)\s+"
    r"(?:not\s+found|unavailable|does\s*n[o']?t\s+exist|not\s+exist|is\s+unknown)",
    r"does\s*n[o']?t\s+exist",
    r"does\s*n[o']?t\s+have\s+an?\s+[\w.-]+\s+account",
    r"unrouteable\s+address", r"invalid\s+(?:recipient|mailbox)",
    r"not\s+a\s+valid\s+(?:user|mailbox|recipient)", r"(?:user|recipient)\s+not\s+found",
    r"invalid\s+(?:final\s+delivery\s+)?userid", r"addressee\s+unknown", r"no\s+such\s+user\s+here",
    # Lotus Notes / Domino: the directory does not know the name (in English and in Japanese)
    r"not\s+listed\s+in\s+(?:the\s+)?(?:public\s+)?(?:name\s*&\s*address\s+book|\w+\s+directory|directory)",
    r"not\s+found\s+in\s+(?:the\s+)?(?:\w+\s+)?directory",
    r"ディレクトリ(?:のリスト)?に(?:は)?(?:ありません|見つかりません)",  # "not in the directory (list)"
    # More wordings of real MTAs for a mailbox that does not exist (sisimai's list of them is the
    # widest there is): qmail and vpopmail, Sendmail, Exchange, Courier, Zimbra, webmail providers.
    r"address\s+(?:unknown|invalid|not\s+present\s+in\s+directory)", r"(?:mailbox|user)\s+not\s+(?:present|known)",
    r"no\s+(?:mail\s*box|mailbox|account)\s+(?:here\s+)?(?:by\s+that\s+name|found|available)",
    r"no\s+such\s+(?:address|person)\s+(?:here|at\s+this\s+address)", r"there\s+is\s+no\s+one\s+at\s+this\s+address",
    r"is\s+not\s+(?:a\s+known\s+user|a\s+valid\s+mailbox|an\s+active\s+address)", r"not\s+a\s+valid\s+user\s+here",
    r"can't\s+accept\s+user", r"not\s+a\s+local\s+address", r"recipient\s+(?:is\s+not\s+local|not\s+ok\b)",
    r"destination\s+(?:addresses\s+were\s+unknown|server\s+rejected\s+recipients)",
    r"email\s+address\s+(?:could\s+not\s+be\s+found|is\s+wrong\s+or\s+no\s+longer\s+valid)",
    r"the\s+user's\s+email\s+name\s+is\s+not\s+found", r"non-?existent\s+(?:user|recipient|mailbox)",
    r"\bbad[-_ ]?(?:recipient|destination\s+mailbox)", r"badrcptto", r"not\s+in\s+my\s+validrcptto",
    r"requested\s+action\s+not\s+taken:\s+mailbox\s+unavailable", r"recipient\s*notfound",
    r"user\s+missing\s+home\s+directory", r"invalid\s+or\s+unknown\s+virtual\s+user",
    r"unknown\s+e-?mail\s+address", r"\bmailbox\s+invalid\b",
    # ... and in French, Spanish, Italian, German
    r"utilisateur\s+inconnu", r"destinataire\s+inconnu", r"adresse\s+(?:\S+\s+)?(?:inconnue|invalide|inexistante)",
    r"n'existe\s+pas", r"no\s+existe\s+(?:dicha\s+persona|ese\s+usuario|el\s+usuario)", r"usuario\s+desconocido",
    r"nessun\s+utente", r"utente\s+(?:sconosciuto|inesistente)", r"(?:benutzer|empf(?:ae|ä)nger)\s+unbekannt",
)
# An account that exists but is suspended, locked or frozen for now: never hard, whatever code
# or "unknown" wording comes with it (providers answer "5.1.1 ... account suspended").
SUSPENDED = _rx(
    r"\bsuspend(?:ed)?\b", r"temporar(?:il)?y\s+(?:locked|inactive|disabled|unavailable)", r"\bfrozen\b",
    r"account\s+is\s+locked", r"is\s+a\s+deactivated\s+mailbox", r"inactive\s+account", r"invalid/inactive\s+user",
    r"user\s+or\s+domain\s+is\s+disabled", r"archived\s+recipient",
)
# The blanket words a recipient's filter answers after DATA (see the module's docstring). A
# provider that checks its users only then says so in words of its own (Yahoo: "This user
# doesn't have a yahoo.com account"), which keep their meaning.
BLANKET_UNKNOWN = _rx(r"\buser\s+unknown\b", r"\bunknown\s+user\b")
# A reply that names no recipient where the address goes ("550 : User unknown"): given to the
# message, after DATA, not to an address (see the module's docstring).
NO_RECIPIENT_NAMED = _rx(r"(?:^|\b[45]\d\d:?[ \t])[ \t]*(?:[245]\.\d{1,3}\.\d{1,3}[ \t]+)?:[ \t]*user\s+unknown")
# Exchange Online refuses an address its tenant's directory does not hold (directory-based edge
# blocking) as "550 5.4.1 Recipient address rejected: Access denied": the access denied is to the
# address, not to our sender, and X.4.1 is not a routing failure there.
RECIPIENT_NOT_IN_DIRECTORY = _rx(r"recipient\s+address\s+rejected:\s*access\s+denied")
MOVED = _rx(r"\bhas\s+moved\b", r"\bmailbox\s+moved\b")
GONE = _rx(  # X.2.1 is hard only with these words: RFC 3463 allows it to be temporary
    r"\bclosed\b", r"\bdeleted\b", r"\bdiscontinued\b", r"\bterminated\b", r"\bremoved\b",
    r"no\s+longer\s+(?:active|in\s+use|valid|exists?)",
)
ACCOUNT_GONE = _rx(  # the same, for replies without an enhanced code
    r"(?:mailbox|account|user)\s+(?:(?:is|has\s+been|was)\s+)?(?:disabled|deactivated|closed|inactive)",
)
