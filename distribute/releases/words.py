"""The email's fixed words, in the release's language, and dates shown in it (Babel).

One table, one place: a language missing here, or a word missing for it, falls back to English,
and `release check` says so. Arabic (and the other right-to-left scripts) set dir="rtl".
"""

from __future__ import annotations

import datetime as dt

from babel import Locale, UnknownLocaleError
from babel.dates import format_date

ENGLISH = "en"
RIGHT_TO_LEFT = {"ar", "he", "fa", "ur", "ps", "yi", "dv", "ckb", "sd", "ug"}

WORDS: dict[str, dict[str, str]] = {
    "en": {
        "immediate": "For immediate release",
        "embargoed_until": "Embargoed until {time} {zone}, {date}",
        "embargoed_subject": "EMBARGOED",
        "media_contact": "Media contact",
        "media_contacts": "Media contacts",
        "notes_to_editors": "Notes to editors",
        "about": "About {organisation}",
        "web_version": "Read this release on the web",
        "web_version_text": "Web version",
        "unsubscribe": "Unsubscribe",
        "unsubscribe_supporter": "Unsubscribe from these emails",
        "preferences": "Choose what you receive",
        "preferences_text": "Preferences",
        "because_journalist": "You are receiving this because you are on the press list of {organisation}.",
        "because_supporter": "You are receiving this because you signed up for news from {organisation}.",
        "sent_to": "This email was sent to {who}.",
        "sent_to_outlet": "This email was sent to {who} at {outlet}.",
        "greeting": "Dear {name},",
        "greeting_anonymous": "Hello,",
    },
    "fr": {
        "immediate": "Pour diffusion immédiate",
        "embargoed_until": "Sous embargo jusqu’au {date}, {time} {zone}",
        "embargoed_subject": "SOUS EMBARGO",
        "media_contact": "Contact presse",
        "media_contacts": "Contacts presse",
        "notes_to_editors": "Notes aux rédactions",
        "about": "À propos de {organisation}",
        "web_version": "Lire ce communiqué en ligne",
        "web_version_text": "Version en ligne",
        "unsubscribe": "Se désabonner",
        "unsubscribe_supporter": "Ne plus recevoir ces courriels",
        "preferences": "Choisir ce que vous recevez",
        "preferences_text": "Préférences",
        "because_journalist": "Vous recevez ce message car vous figurez sur la liste presse de {organisation}.",
        "because_supporter": "Vous recevez ce message car vous êtes inscrit·e aux nouvelles de {organisation}.",
        "sent_to": "Ce courriel a été envoyé à {who}.",
        "sent_to_outlet": "Ce courriel a été envoyé à {who} ({outlet}).",
        "greeting": "Bonjour {name},",
        "greeting_anonymous": "Bonjour,",
    },
    "es": {
        "immediate": "Para difusión inmediata",
        "embargoed_until": "Embargado hasta el {date}, {time} {zone}",
        "embargoed_subject": "EMBARGADO",
        "media_contact": "Contacto de prensa",
        "media_contacts": "Contactos de prensa",
        "notes_to_editors": "Notas para los editores",
        "about": "Acerca de {organisation}",
        "web_version": "Leer este comunicado en la web",
        "web_version_text": "Versión web",
        "unsubscribe": "Darse de baja",
        "unsubscribe_supporter": "Dejar de recibir estos correos",
        "preferences": "Elegir qué recibe",
        "preferences_text": "Preferencias",
        "because_journalist": "Recibe este mensaje porque está en la lista de prensa de {organisation}.",
        "because_supporter": "Recibe este mensaje porque se suscribió a las novedades de {organisation}.",
        "sent_to": "Este correo se envió a {who}.",
        "sent_to_outlet": "Este correo se envió a {who} ({outlet}).",
        "greeting": "Hola, {name}:",
        "greeting_anonymous": "Hola:",
    },
    "de": {
        "immediate": "Zur sofortigen Veröffentlichung",
        "embargoed_until": "Sperrfrist: {date}, {time} Uhr {zone}",
        "embargoed_subject": "SPERRFRIST",
        "media_contact": "Pressekontakt",
        "media_contacts": "Pressekontakte",
        "notes_to_editors": "Hinweise für Redaktionen",
        "about": "Über {organisation}",
        "web_version": "Diese Pressemitteilung im Web lesen",
        "web_version_text": "Webversion",
        "unsubscribe": "Abmelden",
        "unsubscribe_supporter": "Diese E-Mails abbestellen",
        "preferences": "Auswählen, was Sie erhalten",
        "preferences_text": "Einstellungen",
        "because_journalist": "Sie erhalten diese Nachricht, weil Sie im Presseverteiler von {organisation} stehen.",
        "because_supporter": "Sie erhalten diese Nachricht, weil Sie Neuigkeiten von {organisation} abonniert haben.",
        "sent_to": "Diese E-Mail wurde an {who} gesendet.",
        "sent_to_outlet": "Diese E-Mail wurde an {who} ({outlet}) gesendet.",
        "greeting": "Guten Tag {name},",
        "greeting_anonymous": "Guten Tag,",
    },
    "ar": {
        "immediate": "للنشر الفوري",
        "embargoed_until": "محظور النشر حتى {date}، الساعة {time} {zone}",
        "embargoed_subject": "محظور النشر",
        "media_contact": "للتواصل الإعلامي",
        "media_contacts": "للتواصل الإعلامي",
        "notes_to_editors": "ملاحظات للمحررين",
        "about": "نبذة عن {organisation}",
        "web_version": "اقرأ هذا البيان على الموقع",
        "web_version_text": "النسخة على الموقع",
        "unsubscribe": "إلغاء الاشتراك",
        "unsubscribe_supporter": "إلغاء الاشتراك في هذه الرسائل",
        "preferences": "اختر ما يصلك",
        "preferences_text": "التفضيلات",
        "because_journalist": "تصلك هذه الرسالة لأنك مدرج في القائمة الصحفية لـ{organisation}.",
        "because_supporter": "تصلك هذه الرسالة لأنك اشتركت في أخبار {organisation}.",
        "sent_to": "أُرسلت هذه الرسالة إلى {who}.",
        "sent_to_outlet": "أُرسلت هذه الرسالة إلى {who} ({outlet}).",
        "greeting": "مرحباً {name}،",
        "greeting_anonymous": "مرحباً،",
    },
}

# Babel's long date for each language, except English: one day-first form ("5 December 2026")
# whichever English the release is in, as the embargo line always had.
_LONG = {"en": "d MMMM y"}
_FULL = {"en": "EEEE d MMMM y"}


def primary(language: str | None) -> str:
    return (language or ENGLISH).lower().replace("_", "-").split("-")[0]


def has_words(language: str | None) -> bool:
    return primary(language) in WORDS


def words(language: str | None) -> dict[str, str]:
    return WORDS[ENGLISH] | WORDS.get(primary(language), {})


def direction(language: str | None) -> str:
    return "rtl" if primary(language) in RIGHT_TO_LEFT else "ltr"


def _locale(language: str | None) -> Locale:
    try:
        return Locale.parse((language or ENGLISH).replace("-", "_"))
    except (UnknownLocaleError, ValueError):
        try:
            return Locale.parse(primary(language))
        except (UnknownLocaleError, ValueError):
            return Locale.parse(ENGLISH)


def long_date(day: dt.date, language: str | None) -> str:
    return format_date(day, _LONG.get(primary(language), "long"), locale=_locale(language))


def full_date(day: dt.date, language: str | None) -> str:
    return format_date(day, _FULL.get(primary(language), "full"), locale=_locale(language))


def comma(language: str | None) -> str:
    """The list comma of the language's script: Arabic writes "،"."""
    return "، " if direction(language) == "rtl" else ", "


def dateline(place: str | None, day: dt.date | None, dash: str | None, language: str | None) -> str | None:
    """The dateline as the email shows it: the place as written, the date in the release's
    language, the dash as written ("PARIS, 5 décembre 2026 –"). The date is written anew from
    the stored date, so a front-matter date and a pasted one look the same."""
    if not place and not day:
        return None
    parts = comma(language).join(p for p in (place, long_date(day, language) if day else None) if p)
    return f"{parts} {dash or '–'}"
