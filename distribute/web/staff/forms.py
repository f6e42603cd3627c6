"""Form helpers every area uses: a domain error shown beside the field it names."""

from __future__ import annotations

from flask_wtf import FlaskForm

from distribute.errors import UserError


def show_error(form: FlaskForm, error: UserError, fields: dict[str, str] | None = None) -> None:
    """Put the service's message beside the form field it names (`fields` maps a service's field
    name to the form's when they differ), or above the form when no field matches."""
    name = (fields or {}).get(error.field, error.field)
    field = form._fields.get(name) if name else None
    if field is not None:
        field.errors = [*field.errors, str(error)]
    else:
        form.form_errors.append(str(error))
