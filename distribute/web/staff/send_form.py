"""The send form: release, variant, audiences (segments and lists), tracking, and when.
Its choices come from services.campaigns.send_options; the rules from the service it posts to."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, RadioField, SelectChoice, SelectField, SelectMultipleField, StringField
from wtforms.widgets import CheckboxInput, ListWidget

from distribute.errors import UserError

WHEN = (SelectChoice("now", "Now"), SelectChoice("at", "At a time"), SelectChoice("embargo", "When the embargo lifts"))


class Checkboxes(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class SendForm(FlaskForm):
    release = SelectField("Release", coerce=str)
    variant = RadioField("Variant", default="journalist")
    segments = Checkboxes("Segments", validate_choice=False)
    lists = Checkboxes("Lists", validate_choice=False)
    track = BooleanField("Count opens and clicks (tracking)")
    when = RadioField("When", choices=WHEN, default="now")
    at = StringField("Time")
    again = BooleanField("Also mail addresses that already have this release")
    step = HiddenField(default="review")

    def offer(self, options: dict) -> "SendForm":
        self.release.choices = [SelectChoice(str(r["id"]), f"{r['title']} ({r['slug']})") for r in options["releases"]]
        self.variant.choices = [SelectChoice(v, v.title()) for v in options["variants"]]
        self.segments.choices = list(options["segments"])
        self.lists.choices = list(options["lists"])
        return self

    def targets(self) -> list[str]:
        return [f"segment:{n}" for n in self.segments.data or []] + [f"list:{n}" for n in self.lists.data or []]

    def request(self) -> dict:
        """The service's keyword arguments, from the form."""
        when = self.when.data
        if when == "at" and not (self.at.data or "").strip():
            raise UserError("choose the time to send at", field="at")
        return {"targets": self.targets(), "variant": self.variant.data, "track": bool(self.track.data),
                "again": bool(self.again.data), "at": self.at.data.strip() if when == "at" else None,
                "at_embargo": when == "embargo"}


# The service's field names where they differ from the form's.
FIELDS = {"targets": "segments", "release": "release"}
