"""Dates and times as releases write them: "Dec. 5, 2026", "le 5 décembre 2026", "5. Dezember
2026", "5 كانون الأول/ديسمبر ٢٠٢٦", and embargo times such as "00:01 GMT, 8 December 2026" or
"Dec. 8, 2026, 12:01 a.m. ET".

Parsing uses explicit tables (distribute.releases.conventions), never a guess: a date is read
only when its day, month and year are all written (a year-less embargo borrows the release's
year, and says so when there is none), "05/12/2026" is not read at all (day or month first?),
an embargo whose weekday contradicts its date is refused, and so is every word of an embargo
line that is not understood. Time zones follow the policy written beside the ZONES table.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from distribute.releases import conventions as C

_DIGITS = str.maketrans("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹", "01234567890123456789")
_WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def ascii_digits(text: str) -> str:
    """Arabic-Indic and Persian digits as ASCII ones; same length, so positions still hold."""
    return text.translate(_DIGITS)


def alternation(forms) -> str:
    """A regex alternation of forms, longest first, each also folded (no accents, plain alef);
    a comma in a form may be left out ("For more information please contact")."""
    every = set()
    for form in forms:
        every |= {form, C.fold(form)}
    return "|".join(re.escape(f).replace(r"\ ", r"\s+").replace(r",\s+", r",?\s+")
                    for f in sorted(every, key=len, reverse=True))


_LETTER_BEFORE = r"(?<![^\W\d_])"
_LETTER_AFTER = r"(?![^\W\d_])"


@lru_cache(maxsize=1)
def _lookup() -> tuple[dict[str, int], dict[str, int]]:
    months = {C.fold(f): n for n, forms in C.MONTHS.items() for f in forms}
    weekdays = {C.fold(f): n for n, forms in C.WEEKDAYS.items() for f in forms}
    return months, weekdays


def month_number(word: str) -> int | None:
    return _lookup()[0].get(" ".join(C.fold(word).rstrip(".").split()))


def weekday_number(word: str) -> int | None:
    return _lookup()[1].get(C.fold(word).rstrip("."))


_MONTH = rf"{_LETTER_BEFORE}(?:{alternation(f for forms in C.MONTHS.values() for f in forms)}){_LETTER_AFTER}\.?"
# "كانون الأول/ديسمبر", "كانون الأول (ديسمبر)": the Levantine and the Egyptian name of one month.
_MONTHS = rf"(?P<month>{_MONTH})(?:\s*(?:/|\(|-)\s*(?P<month2>{_MONTH})\s*\)?)?"
_WEEKDAY = rf"{_LETTER_BEFORE}(?P<weekday>{alternation(f for forms in C.WEEKDAYS.values() for f in forms)}){_LETTER_AFTER}\.?"
_ARTICLE = rf"{_LETTER_BEFORE}(?:{alternation(C.DATE_ARTICLES)}){_LETTER_AFTER}"
_LINK = rf"(?:(?:{alternation(C.DATE_LINKS)}){_LETTER_AFTER}\s*)?"
_PREFIX = rf"(?:{_ARTICLE}\s+)?(?:{_WEEKDAY}\s*[,،]?\s+)?(?:{_ARTICLE}\s+)?"
_DAY = r"(?<!\d)(?P<day>[0-3]?\d)(?:st|nd|rd|th|er|re|e|º|°|\.)?(?![\d])"
_YEAR = r"(?P<year>\d{4})(?!\d)"

_DATE_FORMS = (
    # Dec. 5, 2026 · Friday, December 5th 2026
    rf"{_PREFIX}{_MONTHS}\s*{_DAY}\s*,?\s*{_YEAR}",
    # 5 December 2026 · le 5 décembre 2026 · 5 de diciembre de 2026 · 5. Dezember 2026 · 5 كانون الأول ٢٠٢٦
    rf"{_PREFIX}{_DAY}\s*{_LINK}{_MONTHS}\s*[,،]?\s*{_LINK}{_YEAR}",
    # 2026-12-05
    rf"{_PREFIX}(?<!\d)(?P<iso_year>\d{{4}})-(?P<iso_month>[01]?\d)-(?P<iso_day>[0-3]?\d)(?![\d:T])",
    # 05.12.2026 (day first: the only order that writes dots)
    rf"{_PREFIX}(?<![\d.])(?P<dot_day>[0-3]?\d)\.(?P<dot_month>[01]?\d)\.(?P<dot_year>\d{{4}})(?!\d)",
)
_NO_YEAR_FORMS = (
    rf"{_PREFIX}{_MONTHS}\s*{_DAY}(?!\s*,?\s*\d)",
    rf"{_PREFIX}{_DAY}\s*{_LINK}{_MONTHS}(?!\s*[,،]?\s*{_LINK}\d)",
)
_DATES = [re.compile(form, re.I) for form in _DATE_FORMS]
_DATES_NO_YEAR = [re.compile(form, re.I) for form in _NO_YEAR_FORMS]


class DateError(ValueError):
    """A date that is written but wrong (31 February, a weekday it is not)."""


@dataclass(frozen=True)
class FoundDate:
    start: int
    end: int
    day: int
    month: int
    year: int | None
    weekday: int | None
    text: str

    def date(self, year: int | None = None, *, weekday: bool = True) -> dt.date:
        """The date; with `weekday`, one whose written weekday is not its own is refused. An
        embargo checks it (which of the two is the instant?); a release date does not: its
        digits are what is stored, and a slip of the weekday is no reason to refuse a release."""
        year = self.year or year
        try:
            value = dt.date(year, self.month, self.day)
        except ValueError:
            raise DateError(f"{self.text.strip()!r} is not a date") from None
        if weekday and self.weekday is not None and value.weekday() != self.weekday:
            raise DateError(f"{self.text.strip()!r}: {value:%-d %B %Y} is a {_WEEKDAY_NAMES[value.weekday()]}, "
                            f"not a {_WEEKDAY_NAMES[self.weekday]}")
        return value


def _found(match: re.Match, text: str, year_given: bool = True) -> FoundDate | None:
    g = match.groupdict()
    if g.get("iso_year"):
        day, month, year = int(g["iso_day"]), int(g["iso_month"]), int(g["iso_year"])
    elif g.get("dot_year"):
        day, month, year = int(g["dot_day"]), int(g["dot_month"]), int(g["dot_year"])
    else:
        month = month_number(g["month"])
        if g.get("month2") and month_number(g["month2"]) != month:
            return None  # "كانون الأول/نوفمبر" names two months: not a date
        day, year = int(g["day"]), int(g["year"]) if year_given else None
    if month is None or not 1 <= month <= 12 or not 1 <= day <= 31:
        return None
    weekday = weekday_number(g["weekday"]) if g.get("weekday") else None
    return FoundDate(match.start(), match.end(), day, month, year, weekday, text[match.start():match.end()])


def find_date(text: str, *, allow_no_year: bool = False, at_start: bool = False) -> FoundDate | None:
    """The first date written in text (the longest one starting there), or None."""
    text = ascii_digits(text)
    found: list[FoundDate] = []
    for forms, year_given in ((_DATES, True), (_DATES_NO_YEAR, False) if allow_no_year else ((), False)):
        for pattern in forms:
            match = pattern.match(text) if at_start else pattern.search(text)
            if match and (hit := _found(match, text, year_given)):
                found.append(hit)
    if not found:
        return None
    return min(found, key=lambda f: (f.start, -f.end, f.year is None))


def date_only(text: str) -> FoundDate | None:
    """A date that is the whole of text ("Friday, December 5, 2026." counts)."""
    stripped = ascii_digits(text).strip().strip("()[]").strip().rstrip(".").strip()
    hit = find_date(stripped, at_start=True)
    return hit if hit and hit.end == len(stripped) else None


def looks_like_date(text: str) -> bool:
    """A line that is mostly a date (for the "title looks like a date" warning)."""
    hit = find_date(text)
    return hit is not None and len(hit.text) >= len(text.strip()) * 0.6


# --- times and zones ---------------------------------------------------------------------------

_AMPM = rf"(?P<ampm>{alternation(C.AM + C.PM)})(?!\w)"
_HOURS_WORD = r"uhr|hrs|hours|horas|heures|hr|h"
# "14:00", "14.00 Uhr", "14h00", "14 h 00", "2 p.m."; and the 24-hour clock written as four digits,
# "0001 HRS", "1400 hrs", "0700h": only with its word, since four digits alone are a year.
_TIME = re.compile(
    rf"(?<![\d:.])(?:(?P<hour4>[01]\d|2[0-3])(?P<minute4>[0-5]\d)(?=\s?(?:{_HOURS_WORD})(?!\w))"
    rf"|(?P<hour>[01]?\d|2[0-4])(?:(?:\s?[:.]\s?|\s?h\s?)(?P<minute>[0-5]\d)(?::[0-5]\d)?)?)(?![\d])"
    rf"(?:\s*{_AMPM})?(?:\s*(?P<suffix>{_HOURS_WORD})(?!\w))?",
    re.I,
)
_NOON = re.compile(rf"{_LETTER_BEFORE}(?:{alternation(C.NOON)}){_LETTER_AFTER}", re.I)
_MIDNIGHT = re.compile(rf"{_LETTER_BEFORE}(?:{alternation(C.MIDNIGHT)}){_LETTER_AFTER}", re.I)
_OFFSET = re.compile(
    r"(?:(?<![\w])(?:UTC|GMT|UT)\s*(?P<sign>[+\-−–])\s*(?P<hours>\d{1,2})(?:[:.]?(?P<minutes>\d{2}))?(?!\d))"
    r"|(?:(?<![\w:])(?P<sign2>[+\-−])(?P<hours2>\d{2}):?(?P<minutes2>\d{2})(?!\d))"
)
_ABBREVIATION = re.compile(r"(?<![\w])(?P<abbr>[A-Z]{2,5})(?![\w])")
_IANA = re.compile(r"(?<![\w/])(?P<iana>[A-Z][A-Za-z_]+/[A-Z][A-Za-z_]+(?:/[A-Z][A-Za-z_]+)?)(?![\w/])")
_PLACE_TIME = re.compile(
    "|".join(form.format(place=alternation(C.ZONE_PLACES)) for form in C.ZONE_PLACE_FORMS), re.I)
_UTC_WORDS = re.compile(alternation(C.UTC_WORDS), re.I)
_LOCAL_WORDS = re.compile(rf"{_LETTER_BEFORE}(?:{alternation(C.LOCAL_TIME)}){_LETTER_AFTER}", re.I)
_FILLER = {C.fold(w) for w in C.EMBARGO_FILLER}
_HOW = "write it as 00:01 GMT, 8 December 2026 (or 2026-12-08 00:01 +00:00)"


@dataclass(frozen=True)
class _Zone:
    tz: dt.tzinfo | None  # None: the configured zone
    written: str
    fixed: tuple[int, str, bool] | None = None  # (minutes, region, summer) to check the season


def _offset_zone(minutes: int) -> dt.timezone:
    return dt.timezone(dt.timedelta(minutes=minutes))


def _place_zone(text: str) -> str | None:
    folded = C.fold(text)
    for place, name in sorted(C.ZONE_PLACES.items(), key=lambda kv: -len(kv[0])):
        if C.fold(place) in folded:
            return name
    return None


def _find_zone(text: str) -> tuple[_Zone | None, list[tuple[int, int]]]:
    """The zone written in text, and the spans it took; refuses two zones and ambiguous ones."""
    found: list[tuple[_Zone, tuple[int, int]]] = []
    for match in _OFFSET.finditer(text):
        sign = match.group("sign") or match.group("sign2")
        hours = int(match.group("hours") or match.group("hours2"))
        minutes = int(match.group("minutes") or match.group("minutes2") or 0)
        if hours > 14 or minutes >= 60:
            raise ValueError(f"{match.group(0)!r} is not a UTC offset")
        total = (hours * 60 + minutes) * (-1 if sign in "-−–" else 1)
        found.append((_Zone(_offset_zone(total), match.group(0)), match.span()))
    for match in _UTC_WORDS.finditer(text):
        found.append((_Zone(dt.UTC, match.group(0)), match.span()))
    for match in _PLACE_TIME.finditer(text):
        if not any(s < match.end() and match.start() < e for _, (s, e) in found):
            found.append((_Zone(ZoneInfo(_place_zone(match.group(0))), match.group(0)), match.span()))
    for match in _IANA.finditer(text):
        try:
            found.append((_Zone(ZoneInfo(match.group("iana")), match.group(0)), match.span()))
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{match.group('iana')!r} is not a time zone name such as Europe/Paris") from None
    taken = [span for _, span in found]
    for match in _ABBREVIATION.finditer(text):
        abbr = match.group("abbr")
        if abbr not in C.ZONES or any(s <= match.start() < e for s, e in taken):
            continue
        kind, *rest = C.ZONES[abbr]
        if kind == "ambiguous":
            raise ValueError(f"{abbr} is ambiguous: it can mean {rest[0]}; write the UTC offset "
                             "(e.g. 00:01 UTC+05:30) or a zone name (e.g. Asia/Kolkata)")
        if kind == "utc":
            zone = _Zone(_offset_zone(rest[0]), abbr)
        elif kind == "zone":
            zone = _Zone(ZoneInfo(rest[0]), abbr)
        else:
            zone = _Zone(_offset_zone(rest[0]), abbr, (rest[0], rest[1], rest[2]))
        found.append((zone, match.span()))
    spans = [span for _, span in found]
    for match in _LOCAL_WORDS.finditer(text):
        spans.append(match.span())
    if len(found) > 1:
        raise ValueError(f"it names more than one time zone ({', '.join(z.written for z, _ in found)})")
    return (found[0][0] if found else None), spans


def _find_time(text: str) -> tuple[dt.time | None, list[tuple[int, int]]]:
    if _MIDNIGHT.search(text):
        raise ValueError("'midnight' can be the start or the end of a day: write 00:01 or 23:59")
    if match := _NOON.search(text):
        return dt.time(12, 0), [match.span()]
    for match in _TIME.finditer(text):
        hour = int(match.group("hour") or match.group("hour4"))
        minute, ampm = match.group("minute") or match.group("minute4"), match.group("ampm")
        if minute is None and ampm is None and match.group("suffix") is None:
            continue  # a bare number is a day or a count, not a time
        minute = int(minute or 0)
        if ampm:
            if not 1 <= hour <= 12:
                raise ValueError(f"{match.group(0).strip()!r} is not a time: {hour} {ampm}")
            pm = C.fold(ampm).replace(" ", "") in {C.fold(p).replace(" ", "") for p in C.PM}
            hour = hour % 12 + (12 if pm else 0)
        if hour == 24 and minute == 0:
            raise ValueError("24:00 is the end of a day: write 23:59 or 00:01")
        if hour > 23:
            raise ValueError(f"{match.group(0).strip()!r} is not a time")
        return dt.time(hour, minute), [match.span()]
    return None, []


def _check_season(zone: _Zone, local: dt.datetime) -> None:
    """A summer-time abbreviation on a winter date (or the reverse) is a contradiction: refuse it,
    naming what the region is on that day, rather than shift the time by an hour either way."""
    minutes, region, summer = zone.fixed
    there = local.replace(tzinfo=_offset_zone(minutes)).astimezone(ZoneInfo(region))
    if bool(there.dst()) != summer:
        offset = there.utcoffset()
        sign = "+" if offset >= dt.timedelta(0) else "−"
        hours, rest = divmod(abs(int(offset.total_seconds())) // 60, 60)
        raise ValueError(
            f"{zone.written} is {'summer' if summer else 'standard'} time, but on {local:%-d %B %Y} "
            f"{region.split('/')[-1].replace('_', ' ')} is on {there.tzname()} (UTC{sign}{hours:02d}:{rest:02d}): "
            f"write {there.tzname()}, or the UTC offset"
        )


def parse_when(value, zone: ZoneInfo, *, default_year: int | None = None) -> dt.datetime:
    """A time as written ("00:01 GMT, 8 December 2026", "2026-12-01 09:00"), as an aware UTC
    datetime; a time without zone is read in the configured zone."""
    if isinstance(value, dt.datetime):
        when = value
        return (when if when.tzinfo else when.replace(tzinfo=zone)).astimezone(dt.UTC)
    if isinstance(value, dt.date):
        return dt.datetime.combine(value, dt.time(), tzinfo=zone).astimezone(dt.UTC)
    text = " ".join(ascii_digits(str(value)).split()).strip().rstrip(".")
    if not text:
        raise ValueError(f"an empty time: {_HOW}")
    try:
        when = dt.datetime.fromisoformat(re.sub(r"\s*(?:UTC|GMT|Z)$", "+00:00", text))
    except ValueError:
        return _parse_written(text, zone, default_year)
    return (when if when.tzinfo else when.replace(tzinfo=zone)).astimezone(dt.UTC)


def _parse_written(text: str, zone: ZoneInfo, default_year: int | None) -> dt.datetime:
    tz, zone_spans = _find_zone(text)
    masked = _mask(text, zone_spans)
    time, time_spans = _find_time(masked)
    masked = _mask(masked, time_spans)
    found = find_date(masked, allow_no_year=True)
    leftover = _mask(masked, [(found.start, found.end)] if found else [])
    unknown = [w for w in re.split(r"[\s,;()\[\]/–—\-.:|]+", leftover) if w and C.fold(w) not in _FILLER]
    if unknown or found is None:
        if found is None and time is None and tz is None:
            raise ValueError(f"{text!r} is not a time: {_HOW}")
        if unknown:
            raise ValueError(f"{text!r}: {' '.join(unknown)!r} is not understood: {_HOW}")
        raise ValueError(f"{text!r} has no date: {_HOW}")
    if found.year is None and default_year is None:
        raise ValueError(f"{text!r} has no year: {_HOW}")
    local = dt.datetime.combine(found.date(default_year), time or dt.time())
    if tz is None:
        return local.replace(tzinfo=zone).astimezone(dt.UTC)
    if tz.fixed:
        _check_season(tz, local)
    return local.replace(tzinfo=tz.tz).astimezone(dt.UTC)


def _mask(text: str, spans: list[tuple[int, int]]) -> str:
    """text with the spans blanked (same length, so later spans still point right)."""
    chars = list(text)
    for start, end in spans:
        chars[start:end] = " " * (end - start)
    return "".join(chars)
