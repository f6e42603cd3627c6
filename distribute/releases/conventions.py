"""The conventions of the press-release genre, as data: what the reader (distribute.releases.reader)
recognises, in English, French, Spanish, German and Arabic.

Everything here is matched case-insensitively and, for Latin script, with or without accents
(see `fold`); Arabic is matched with its alef and yeh forms folded. Add a word here, not a rule
in the reader.
"""

from __future__ import annotations

import re
import unicodedata

# Languages the email's fixed words exist in (distribute.releases.words) and that detection chooses
# among, with a few frequent others so that a Portuguese or Italian release is not called Spanish.
SUPPORTED_LANGUAGES = ("en", "fr", "es", "de", "ar")
DETECTED_LANGUAGES = SUPPORTED_LANGUAGES + ("pt", "it", "nl")
DEFAULT_LANGUAGE = "en"


def fold(text: str) -> str:
    """Lowercase, accents and Arabic letter variants folded: the key every table is looked up by."""
    text = unicodedata.normalize("NFKD", text.casefold())
    text = "".join(c for c in text if not unicodedata.combining(c) or "\u0600" <= c <= "\u06ff")
    text = text.replace("\u0640", "")  # tatweel
    for variants, plain in (("أإآٱ", "ا"), ("ى", "ي"), ("ؤ", "و"), ("ئ", "ي")):
        for v in variants:
            text = text.replace(v, plain)
    text = re.sub(r"[\u064b-\u0652]", "", text)  # Arabic short-vowel marks
    return text


# --- months and weekdays -----------------------------------------------------------------------

# month number -> every spelling used in dates (abbreviations with or without their dot).
MONTHS: dict[int, tuple[str, ...]] = {
    1: ("january", "jan", "janvier", "janv", "enero", "ene", "januar", "jänner", "jän",
        "يناير", "كانون الثاني", "جانفي"),
    2: ("february", "feb", "févr", "fév", "février", "febrero", "februar", "فبراير", "شباط", "فيفري"),
    3: ("march", "mar", "mars", "marzo", "märz", "mrz", "مارس", "آذار"),
    4: ("april", "apr", "avril", "avr", "abril", "abr", "أبريل", "إبريل", "نيسان", "أفريل"),
    5: ("may", "mai", "mayo", "may", "مايو", "أيار", "ماي"),
    6: ("june", "jun", "juin", "junio", "juni", "يونيو", "يونيه", "حزيران", "جوان"),
    7: ("july", "jul", "juillet", "juil", "julio", "juli", "يوليو", "يوليه", "تموز", "جويلية"),
    8: ("august", "aug", "août", "agosto", "ago", "أغسطس", "آب", "أوت"),
    9: ("september", "sep", "sept", "septembre", "septiembre", "setiembre", "set",
        "سبتمبر", "أيلول"),
    10: ("october", "oct", "octobre", "octubre", "oktober", "okt", "أكتوبر", "تشرين الأول"),
    11: ("november", "nov", "novembre", "noviembre", "نوفمبر", "تشرين الثاني"),
    12: ("december", "dec", "décembre", "déc", "diciembre", "dic", "dezember", "dez",
         "ديسمبر", "كانون الأول"),
}

# weekday (Monday = 0) -> spellings, for "Friday, 5 December 2026" and checking that it is one.
WEEKDAYS: dict[int, tuple[str, ...]] = {
    0: ("monday", "mon", "lundi", "lun", "lunes", "montag", "mo", "الاثنين", "الإثنين"),
    1: ("tuesday", "tue", "tues", "mardi", "martes", "dienstag", "di", "الثلاثاء"),
    2: ("wednesday", "wed", "mercredi", "mer", "miércoles", "mié", "mittwoch", "mi", "الأربعاء"),
    3: ("thursday", "thu", "thur", "thurs", "jeudi", "jeu", "jueves", "jue", "donnerstag", "do", "الخميس"),
    4: ("friday", "fri", "vendredi", "ven", "viernes", "vie", "freitag", "fr", "الجمعة"),
    5: ("saturday", "sat", "samedi", "sam", "sábado", "sáb", "samstag", "sonnabend", "sa", "السبت"),
    6: ("sunday", "sun", "dimanche", "dim", "domingo", "dom", "sonntag", "so", "الأحد"),
}

# Words between the parts of a date: "le 5 décembre", "5 de diciembre de 2026", "am 5. Dezember",
# "the 5th of December", "يوم الجمعة".
DATE_ARTICLES = ("le", "el", "the", "am", "den", "on", "يوم", "في")
DATE_LINKS = ("de", "del", "of")

# --- header lines ------------------------------------------------------------------------------

# "For immediate release": the release's timing, not a label.
IMMEDIATE = (
    "for immediate release", "immediate release", "for release immediately", "for immediate distribution",
    "pour diffusion immédiate", "pour publication immédiate", "diffusion immédiate", "publication immédiate",
    "pour diffusion immediate", "à diffuser immédiatement",
    "para difusión inmediata", "para publicación inmediata", "difusión inmediata", "publicación inmediata",
    "para su difusión inmediata", "para su publicación inmediata",
    "zur sofortigen veröffentlichung", "zur sofortigen freigabe", "sofort zur veröffentlichung",
    "zur veröffentlichung", "frei zur veröffentlichung", "sperrfrist: keine",
    "للنشر الفوري", "للنشر فورا", "للنشر فوراً", "للنشر الفوري والعاجل",
)

# Header labels: the kind of document. Shown in the email as written.
LABELS = (
    "press release", "news release", "media release", "media advisory", "media alert", "press advisory",
    "news advisory", "advisory", "statement", "press statement", "joint statement", "joint press release",
    "public statement", "news", "press notice", "photo release", "update", "news update",
    "communiqué de presse", "communiqué", "communiqué conjoint", "déclaration", "déclaration conjointe",
    "avis aux médias", "avis aux rédactions", "information presse", "invitation presse",
    "comunicado de prensa", "comunicado", "nota de prensa", "comunicado conjunto", "declaración",
    "declaración conjunta", "aviso a los medios", "nota informativa", "nota de premsa",
    "pressemitteilung", "presseinformation", "medienmitteilung", "gemeinsame pressemitteilung",
    "erklärung", "stellungnahme", "presseerklärung", "medieninformation", "presseeinladung",
    "بيان صحفي", "بيان صحافي", "بيان", "بيان مشترك", "بيان إعلامي", "تصريح صحفي", "دعوة إعلامية",
    "خبر صحفي", "بلاغ صحفي",
)

# Embargo cues: what precedes the time in "EMBARGOED UNTIL 00:01 GMT, 8 December 2026".
EMBARGO_CUES = (
    "embargoed until", "embargoed till", "embargoed to", "embargo until", "embargo till", "embargoed",
    "embargo", "under embargo until", "strictly embargoed until", "not for publication until",
    "not for publication before", "not for release until", "not for release before", "hold for release until",
    "hold until", "for release at", "for release on", "for release after", "for release",
    "sous embargo jusqu'au", "sous embargo jusqu'à", "sous embargo jusqu’au", "sous embargo jusqu’à",
    "sous embargo", "embargo jusqu'au", "embargo jusqu’au", "ne pas publier avant",
    "embargado hasta", "embargo hasta", "bajo embargo hasta", "no publicar antes de", "no difundir antes de",
    "sperrfrist bis", "sperrfrist", "gesperrt bis", "nicht vor", "veröffentlichung nicht vor",
    "محظور النشر حتى", "محظور النشر قبل", "يحظر النشر قبل", "يحظر النشر حتى", "حظر النشر حتى",
    "ممنوع النشر قبل", "ممنوع النشر حتى", "تحت الحظر حتى", "لا يُنشر قبل", "لا ينشر قبل",
)

# Contact cues, alone on a line or followed by the contact: "Media contact: Jane Doe, …".
CONTACT_CUES = (
    "media contact", "media contacts", "press contact", "press contacts", "contact", "contacts",
    "media enquiries", "media inquiries", "press enquiries", "press inquiries", "press office",
    "media relations", "press relations", "contact for media", "contacts for media",
    "for media enquiries", "for media inquiries", "for interviews", "for interviews contact", "for interview requests",
    "contact presse", "contacts presse", "contact médias", "contacts médias", "relations presse",
    "relations médias", "contacto", "contactos", "contacto de prensa", "contactos de prensa", "contacto para medios",
    "prensa", "pressekontakt", "pressekontakte", "medienkontakt", "kontakt", "ansprechpartner", "ansprechpartnerin",
    "pressestelle", "للتواصل الإعلامي", "للتواصل", "جهة الاتصال", "للاتصال", "للاستفسارات الإعلامية",
    "الاتصال الإعلامي",
) + (WEAK_CONTACT_CUES := (
    # These also open a line that gives a link or a report, not a person: a contact only when the
    # lines under them have a phone number or an email address.
    "for more information", "for further information", "for more information contact",
    "for more information, contact", "for more information, please contact", "for further information contact",
    "for further information, contact", "for further information, please contact",
    "pour plus d'informations", "pour plus d’informations", "pour tout renseignement",
    "para más información", "para mayor información", "más información",
    "für rückfragen", "rückfragen", "weitere informationen",
    "للمزيد من المعلومات", "لمزيد من المعلومات", "للاستفسارات",
    # Quebec's "Renseignements :" and "Source :", and "Information :": they also open a line of
    # sources or a link in the body, so they need a phone or an address under them too.
    "renseignements", "pour renseignements", "demandes de renseignements", "source", "sources",
    "information", "informations", "información", "informes", "auskunft", "rückfragehinweis",
    "للاستفسار", "معلومات",
))

# A sentence that gives a contact in the text: "For interviews, contact Priya … on 020 … or …".
# It needs one of these words (and a phone or an address): "Call your MP on 020 …" is a call to act.
CONTACT_SENTENCE = re.compile(
    r"\b(?:contact|contacting|contactez|contacter|contactar|contacte|contacten|kontaktieren|wenden sie sich an|"
    r"interviews?|entretiens?|entrevistas?|interviewanfragen|journalists?|reporters?|media|press|médias|presse|"
    r"prensa|medios|redaktionen)\b|تواصل|الاتصال|للمقابلات|الإعلامي",
    re.I,
)

# Boilerplate headings: "About the Syrian Emergency Task Force", "À propos de …".
ABOUT_CUES = ("about", "à propos de", "à propos du", "à propos des", "à propos d'", "à propos d’", "a propos de",
              "a propos du", "a propos des", "a propos d'", "acerca de", "acerca del", "sobre", "über", "ueber",
              "nota sobre", "نبذة عن", "عن", "حول")
# Boilerplate headings that are whole phrases: "Who we are", "Qui sommes-nous ?".
ABOUT_WHOLE = ("who we are", "about us", "qui sommes-nous", "quiénes somos", "über uns", "من نحن")

# "Notes to editors" and its kin, after the end mark.
NOTES_CUES = (
    "notes to editors", "note to editors", "notes for editors", "note for editors", "editor's notes",
    "editors' notes", "editor’s notes", "editors’ notes", "notes to the editor", "note to the editor",
    "notes for the editor", "editors notes", "editor's note", "editor’s note", "editors' note", "note to editor",
    "notes to editor", "information for editors",
    "notes aux rédactions", "note aux rédactions", "notes à l'attention des rédactions",
    "notes à l’attention des rédactions", "note aux rédacteurs", "notes aux rédacteurs", "notes aux éditeurs",
    "notas para los editores", "nota para los editores", "notas para editores", "nota para editores",
    "notas a los editores", "nota a la redacción", "notas para la redacción", "nota a los editores",
    "hinweise für redaktionen", "hinweis für redaktionen", "hinweis an die redaktion", "hinweise an die redaktion",
    "hinweis für die redaktion", "hinweise für die redaktion", "anmerkungen für die redaktion",
    "redaktionelle hinweise", "zur information für redaktionen",
    "ملاحظات للمحررين", "ملاحظة للمحررين", "ملاحظات للمحرر", "ملاحظة للمحرر", "ملاحظات إلى المحررين",
)

# Headings that are notes to editors only after the end mark (in the body they are subheadings).
NOTES_AFTER_END = ("background", "notes", "note", "contexte", "antecedentes", "contexto", "hintergrund",
                   "خلفية", "ملاحظات")

# End marks, compared with spaces and dashes around them removed: "###", "# # #", "-30-", "ENDS".
END_MARKS = ("###", "##", "30", "ends", "end", "fin", "ende", "انتهى", "fin du communiqué", "fin del comunicado",
             "ende der pressemitteilung", "xxx")

# Page marks of printed and faxed releases, at the foot of a page: "- more -", "(MORE)", "- suite -";
# compared as END_MARKS are. A page number ("- 2 -", "/2", "Page 2 of 3") is one too.
PAGE_MARKS = ("more", "continued", "cont'd", "contd", "mehr", "fortsetzung folgt", "suite", "à suivre", "más",
              "sigue", "continúa", "يتبع")
PAGE_WORDS = ("page", "seite", "página", "pagina", "p.", "pg.", "صفحة")

# The call to action in plain text: "Take action: Ask your representative – https://…".
CTA_CUES = (
    "take action", "act now", "call to action", "sign the petition", "get involved", "join us",
    "agir", "agissez", "agissez maintenant", "passez à l'action", "passez à l’action", "signez la pétition",
    "actúa", "actúe", "actúa ahora", "pasa a la acción", "firma la petición",
    "jetzt handeln", "handeln sie", "mitmachen", "jetzt mitmachen", "petition unterschreiben",
    "تحرّك الآن", "تحرك الآن", "شارك الآن", "وقّع العريضة", "وقع العريضة",
)

# --- contacts ----------------------------------------------------------------------------------

# Labels before a phone or an email in a contact block; dropped, the value kept.
CONTACT_FIELD_LABELS = (
    "tel", "tél", "tel.", "tél.", "telephone", "téléphone", "phone", "ph", "t", "m", "e", "o", "p", "c",
    "mobile", "mob", "cell", "cellphone", "office", "direct", "whatsapp", "signal", "fax",
    "email", "e-mail", "mail", "courriel", "portable", "port", "correo", "correo electrónico", "teléfono",
    "móvil", "celular", "telefon", "handy", "mobil", "hotline", "هاتف", "الهاتف", "جوال", "الجوال",
    "موبايل", "البريد الإلكتروني", "بريد إلكتروني", "البريد", "واتساب", "الرقم",
    # A switchboard or a shared line inside a person's block: that person's too, not a new contact.
    "switchboard", "main line", "main office", "general enquiries", "general inquiries", "direct line", "landline",
    "out of hours", "out-of-hours", "after hours", "press line", "media line", "press email", "press e-mail",
    "zentrale", "telefonzentrale", "büro", "festnetz", "durchwahl", "pressetelefon", "presse-e-mail",
    "standard", "accueil", "fixe", "ligne directe", "bureau", "centralita", "central", "conmutador", "oficina",
    "fijo", "البدالة", "السنترال", "المكتب",
)

# Words that make a piece of a contact block a job title rather than a name.
TITLE_WORDS = (
    "director", "directrice", "directeur", "directora", "direktor", "direktorin", "officer", "manager",
    "head", "chief", "coordinator", "coordinador", "coordinadora", "coordinatrice", "coordinateur",
    "spokesperson", "spokesman", "spokeswoman", "porte-parole", "portavoz", "sprecher", "sprecherin",
    "pressesprecher", "pressesprecherin", "press secretary", "secretary", "adviser", "advisor",
    "conseiller", "conseillère", "asesor", "asesora", "referent", "referentin", "lead", "associate",
    "assistant", "specialist", "executive", "president", "présidente", "président", "presidente",
    "präsident", "präsidentin", "chair", "vice", "editor", "attachée", "attaché", "chargée", "chargé",
    "responsable", "jefe", "jefa", "leiter", "leiterin", "leitung", "vorsitzende", "vorsitzender",
    "campaigner", "researcher", "analyst", "counsel", "consultant", "fellow", "representative",
    "communications", "communication", "comunicación", "kommunikation", "press", "media", "médias",
    "prensa", "presse", "relations", "affairs", "organiser", "organizer", "strategist", "founder", "co-founder",
    "ceo", "treasurer", "trustee", "lawyer", "attorney", "solicitor",
    # French (France and Quebec)
    "coordonnateur", "coordonnatrice", "délégué", "déléguée", "secrétaire", "trésorier", "trésorière",
    "chercheur", "chercheuse", "avocat", "avocate", "juriste", "analyste", "gestionnaire", "agent", "agente",
    "fondateur", "fondatrice", "cofondateur", "cofondatrice", "rédacteur", "rédactrice", "animateur", "animatrice",
    # Spanish
    "vocero", "vocera", "gerente", "secretario", "presidenta", "encargado", "encargada",
    "investigador", "investigadora", "abogado", "abogada", "analista", "especialista", "técnico", "técnica",
    "oficial", "fundador", "fundadora", "subdirector", "subdirectora", "relaciones", "comunicaciones",
    # a department, written where the job title goes: "Coordinación de Comunicación Social"
    "coordinación", "dirección", "subdirección", "gerencia", "jefatura", "direction", "abteilung",
    # German (compounds are read by TITLE_COMPOUND_ENDINGS; "Sprecher/in" and "Referent*in" by the word before "/")
    "geschäftsführung", "vorstand", "vorständin", "vorstandsmitglied", "öffentlichkeitsarbeit", "campaignerin",
    "pressestellenleiter", "pressestellenleiterin",
    # Arabic, with and without the article
    "مدير", "مديرة", "مسؤول", "مسؤولة", "منسق", "منسقة", "المتحدث", "المتحدثة", "رئيس", "رئيسة", "مستشار",
    "مستشارة", "المدير", "المديرة", "المسؤول", "المسؤولة", "المنسق", "المنسقة", "المستشار", "المستشارة",
    "متحدث", "متحدثة", "الناطق", "الناطقة", "ناطق", "ناطقة", "الرئيس", "الرئيسة", "نائب", "نائبة",
    "باحث", "باحثة", "الباحث", "الباحثة", "محامي", "محامية", "أمين", "أمينة", "الأمين", "الأمينة",
    "أخصائي", "أخصائية", "ضابط", "ضابطة",
)

# German job titles are compounds ("Pressereferentin", "Kampagnenleiter", "Geschäftsführerin"): a
# word ending in one of these after at least four letters is a job title ("Schleiter" is a name).
TITLE_COMPOUND_ENDINGS = (
    "referent", "referentin", "sprecher", "sprecherin", "leiter", "leiterin", "leitung", "beauftragte",
    "beauftragter", "führer", "führerin", "koordinator", "koordinatorin", "berater", "beraterin", "vorsitzende",
    "vorsitzender", "direktor", "direktorin", "manager", "managerin", "redakteur", "redakteurin", "assistent",
    "assistentin", "experte", "expertin", "sekretär", "sekretärin",
)

# Words that make a piece an organisation.
ORGANISATION_WORDS = (
    "network", "coalition", "foundation", "fund", "union", "association", "alliance", "federation",
    "council", "committee", "institute", "centre", "center", "trust", "society", "campaign", "group",
    "international", "organisation", "organization", "inc", "ltd", "llc", "ngo", "agency", "project",
    "initiative", "watch", "forum", "partners", "office", "team", "desk", "task force", "university",
    "réseau", "fondation", "fondation", "institut", "comité", "collectif", "fundación", "asociación",
    "red", "stiftung", "verband", "verein", "bündnis", "netzwerk", "e.v.", "منظمة", "مؤسسة", "جمعية",
    "شبكة", "الشبكة", "المنظمة", "التحالف", "مركز", "المركز", "الاتحاد", "لجنة", "المكتب",
)

# A contact's desk rather than a person: kept as its name ("Press Office").
DESK_NAMES = ("press office", "press desk", "media office", "media desk", "media team", "press team",
              "communications team", "communications office", "service de presse", "service presse",
              "bureau de presse", "oficina de prensa", "gabinete de prensa", "departamento de comunicación",
              "pressestelle", "pressebüro", "المكتب الإعلامي", "المكتب الصحفي", "الفريق الإعلامي")

# Name particles written in lower case: "Ana de la Cruz", "Ludwig van Beethoven", "Omar bin Laden".
NAME_PARTICLES = ("de", "del", "della", "der", "den", "di", "da", "das", "do", "dos", "du", "la", "le",
                  "van", "von", "zu", "y", "e", "bin", "ben", "ibn", "bint", "al", "el", "abu", "st.")

# --- time zones --------------------------------------------------------------------------------

# Abbreviation -> how it is read:
#   ("zone", IANA name)                 local time there, summer time as the date has it (ET, PT …)
#   ("fixed", minutes, IANA, summer)    that UTC offset, and its summer/winter side checked against
#                                       the region named, so "EDT" in January is refused, not shifted
#   ("utc", minutes)                    an offset that no season changes (GMT, UTC, JST …)
#   ("ambiguous", what it can mean)     refused, saying why
ZONES: dict[str, tuple] = {
    "UTC": ("utc", 0), "GMT": ("utc", 0), "Z": ("utc", 0), "UT": ("utc", 0),
    "ET": ("zone", "America/New_York"), "EST": ("fixed", -300, "America/New_York", False),
    "EDT": ("fixed", -240, "America/New_York", True),
    "CT": ("zone", "America/Chicago"), "CDT": ("fixed", -300, "America/Chicago", True),
    "MT": ("zone", "America/Denver"), "MST": ("fixed", -420, "America/Denver", False),
    "MDT": ("fixed", -360, "America/Denver", True),
    "PT": ("zone", "America/Los_Angeles"), "PST": ("fixed", -480, "America/Los_Angeles", False),
    "PDT": ("fixed", -420, "America/Los_Angeles", True),
    "AKST": ("fixed", -540, "America/Anchorage", False), "AKDT": ("fixed", -480, "America/Anchorage", True),
    "HST": ("utc", -600), "ADT": ("fixed", -180, "America/Halifax", True),
    "NST": ("fixed", -210, "America/St_Johns", False), "NDT": ("fixed", -150, "America/St_Johns", True),
    "BST": ("fixed", 60, "Europe/London", True),
    "UK": ("zone", "Europe/London"),
    "WET": ("fixed", 0, "Europe/Lisbon", False), "WEST": ("fixed", 60, "Europe/Lisbon", True),
    "CET": ("fixed", 60, "Europe/Paris", False), "CEST": ("fixed", 120, "Europe/Paris", True),
    "MEZ": ("fixed", 60, "Europe/Berlin", False), "MESZ": ("fixed", 120, "Europe/Berlin", True),
    "HEC": ("zone", "Europe/Paris"), "HNEC": ("fixed", 60, "Europe/Paris", False),
    "HAEC": ("fixed", 120, "Europe/Paris", True),
    "EET": ("fixed", 120, "Europe/Athens", False), "EEST": ("fixed", 180, "Europe/Athens", True),
    "OEZ": ("fixed", 120, "Europe/Athens", False), "OESZ": ("fixed", 180, "Europe/Athens", True),
    "MSK": ("utc", 180), "TRT": ("utc", 180),
    "WAT": ("utc", 60), "CAT": ("utc", 120), "SAST": ("utc", 120), "EAT": ("utc", 180),
    "GST": ("utc", 240),  # Gulf Standard Time (South Georgia's is not one a release uses)
    "PKT": ("utc", 300), "NPT": ("utc", 345), "ICT": ("utc", 420), "WIB": ("utc", 420),
    "HKT": ("utc", 480), "SGT": ("utc", 480), "PHT": ("utc", 480), "AWST": ("utc", 480),
    "JST": ("utc", 540), "KST": ("utc", 540),
    "AEST": ("fixed", 600, "Australia/Sydney", False), "AEDT": ("fixed", 660, "Australia/Sydney", True),
    "ACST": ("fixed", 570, "Australia/Adelaide", False), "ACDT": ("fixed", 630, "Australia/Adelaide", True),
    "NZST": ("fixed", 720, "Pacific/Auckland", False), "NZDT": ("fixed", 780, "Pacific/Auckland", True),
    "HNE": ("fixed", -300, "America/Toronto", False), "HAE": ("fixed", -240, "America/Toronto", True),
    "HE": ("zone", "America/Toronto"),
    "IST": ("ambiguous", "India (UTC+05:30), Israel (UTC+02:00) or Ireland (UTC+01:00)"),
    "CST": ("ambiguous", "US Central (UTC−06:00), China (UTC+08:00) or Cuba (UTC−05:00)"),
    "AST": ("ambiguous", "Arabia (UTC+03:00) or Atlantic (UTC−04:00)"),
    "IDT": ("ambiguous", "Israel Daylight (UTC+03:00) or Irish Daylight time"),
    "ECT": ("ambiguous", "Ecuador (UTC−05:00) or Eastern Caribbean (UTC−04:00)"),
    "SST": ("ambiguous", "Samoa (UTC−11:00) or Singapore (UTC+08:00)"),
}

# "Paris time", "heure de Paris", "hora de Madrid", "بتوقيت بيروت": a place's local time.
ZONE_PLACES: dict[str, str] = {
    "london": "Europe/London", "londres": "Europe/London", "paris": "Europe/Paris", "brussels": "Europe/Brussels",
    "bruxelles": "Europe/Brussels", "bruselas": "Europe/Brussels", "brüssel": "Europe/Brussels",
    "geneva": "Europe/Zurich", "genève": "Europe/Zurich", "ginebra": "Europe/Zurich", "genf": "Europe/Zurich",
    "berlin": "Europe/Berlin", "madrid": "Europe/Madrid", "rome": "Europe/Rome", "vienna": "Europe/Vienna",
    "wien": "Europe/Vienna", "new york": "America/New_York", "washington": "America/New_York",
    "los angeles": "America/Los_Angeles", "mexico": "America/Mexico_City", "méxico": "America/Mexico_City",
    "bogotá": "America/Bogota", "bogota": "America/Bogota", "buenos aires": "America/Argentina/Buenos_Aires",
    "nairobi": "Africa/Nairobi", "lagos": "Africa/Lagos", "dakar": "Africa/Dakar", "johannesburg": "Africa/Johannesburg",
    "cairo": "Africa/Cairo", "le caire": "Africa/Cairo", "beirut": "Asia/Beirut", "beyrouth": "Asia/Beirut",
    "amman": "Asia/Amman", "damascus": "Asia/Damascus", "damas": "Asia/Damascus", "istanbul": "Europe/Istanbul",
    "dubai": "Asia/Dubai", "riyadh": "Asia/Riyadh", "doha": "Asia/Qatar", "jerusalem": "Asia/Jerusalem",
    "delhi": "Asia/Kolkata", "new delhi": "Asia/Kolkata", "bangkok": "Asia/Bangkok", "tokyo": "Asia/Tokyo",
    "sydney": "Australia/Sydney", "peninsular": "Europe/Madrid", "peninsula": "Europe/Madrid",
    "بيروت": "Asia/Beirut", "دمشق": "Asia/Damascus", "عمان": "Asia/Amman", "القاهرة": "Africa/Cairo",
    "مكة المكرمة": "Asia/Riyadh", "مكة": "Asia/Riyadh", "الرياض": "Asia/Riyadh", "الإمارات": "Asia/Dubai",
    "دبي": "Asia/Dubai", "الدوحة": "Asia/Qatar", "بغداد": "Asia/Baghdad", "غرينتش": "UTC", "جرينتش": "UTC",
    "غرينيتش": "UTC", "القدس": "Asia/Jerusalem", "تونس": "Africa/Tunis", "الجزائر": "Africa/Algiers",
    "الرباط": "Africa/Casablanca", "المغرب": "Africa/Casablanca",
}
# How a place's time is written: "{place} time", "heure de {place}", …
ZONE_PLACE_FORMS = (
    r"(?:{place})\s+(?:local\s+)?time", r"heure\s+(?:de\s+|d['’]\s*)?(?:{place})", r"hora\s+(?:de\s+)?(?:{place})",
    r"(?:{place})er\s+zeit", r"ortszeit\s+(?:{place})", r"(?:ال)?بتوقيت\s+(?:{place})", r"بالتوقيت\s+(?:{place})",
    r"توقيت\s+(?:{place})",
)
# Written for "no particular zone": read in the configured zone (DISTRIBUTE_TIMEZONE).
LOCAL_TIME = ("local time", "heure locale", "hora local", "ortszeit", "بالتوقيت المحلي", "التوقيت المحلي")
# Written for UTC in words.
UTC_WORDS = ("بالتوقيت العالمي", "التوقيت العالمي", "بتوقيت غرينتش", "بتوقيت جرينتش")

# Times of day: "12:01 a.m.", "9h30", "00.01 Uhr", "الساعة 9 صباحاً".
AM = ("am", "a.m.", "a.m", "a. m.", "صباحا", "صباحاً", "ص")
PM = ("pm", "p.m.", "p.m", "p. m.", "مساء", "مساءً", "م", "ظهرا", "ظهراً")
NOON = ("noon", "midday", "12 noon", "midi", "mediodía", "mittag", "الظهر")
# "Midnight" names two instants (the start or the end of the day): refused, with the fix.
MIDNIGHT = ("midnight", "minuit", "medianoche", "mitternacht", "منتصف الليل")

# Words an embargo line may have between its time, zone and date: dropped; anything else left over
# means the line was not understood, and it is refused rather than guessed.
EMBARGO_FILLER = ("on", "at", "the", "hours", "hrs", "hr", "h", "à", "a", "le", "la", "las", "les", "el",
                  "del", "de", "du", "um", "am", "den", "ab", "uhr", "horas", "hora", "heures", "heure",
                  "time", "zeit", "الساعة", "يوم", "في", "من", "،", "until", "till", "jusqu'au", "hasta", "bis",
                  "on", "local", "et", "y", "und", "and", "o'clock")
