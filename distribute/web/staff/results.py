"""Results: one campaign's funnel, time chart, domains, outlets and links; its recipients a page
at a time, each with its events; a CSV export streamed in batches; and for admins the overview of
the last 30 days against the mailbox providers' thresholds."""

from __future__ import annotations

import csv
import io

from flask import Blueprint, Response, redirect, render_template, request, stream_with_context, url_for

from distribute.services import stats
from distribute.services.actor import MANAGE
from distribute.web.staff.charts import line_chart
from distribute.web.staff.state import current_actor, unit_of_work

blueprint = Blueprint("results", __name__, url_prefix="/results")
SERIES = ("sent", "opened", "clicked")


@blueprint.get("/")
def overview():
    if not current_actor().may(MANAGE):
        return redirect(url_for("sends.index"))  # the overview is the admins'; a campaign's results are for all
    with unit_of_work() as session:
        data = stats.overview(session, current_actor())
    return render_template("staff/results/overview.html", data=data)


@blueprint.get("/<int:campaign_id>")
def campaign(campaign_id: int):
    with unit_of_work() as session:
        data = stats.results(session, current_actor(), campaign_id)
        first = stats.recipients(session, current_actor(), campaign_id, limit=20)
    buckets = data["timeline"]["buckets"]
    return render_template("staff/results/campaign.html", s=data, recipients=first,
                           chart=line_chart(buckets, SERIES) if buckets else None, series=SERIES)


@blueprint.get("/<int:campaign_id>/recipients")
def recipients(campaign_id: int):
    search = request.args.get("q", "")[:320]
    state = request.args.get("state") or None
    after = request.args.get("after", type=int)
    with unit_of_work() as session:
        page = stats.recipients(session, current_actor(), campaign_id, search=search, state=state, after=after)
    return render_template("staff/results/recipients.html", campaign_id=campaign_id, page=page, q=search,
                           state=state, after=after)


@blueprint.get("/<int:campaign_id>/recipients/<int:delivery_id>")
def recipient(campaign_id: int, delivery_id: int):
    with unit_of_work() as session:
        person = stats.recipient(session, current_actor(), campaign_id, delivery_id)
    return render_template("staff/results/recipient.html", campaign_id=campaign_id, r=person)


def _cell(value) -> str:
    """A spreadsheet runs a cell that starts with = + - @: a hostile name stays text."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


@blueprint.get("/<int:campaign_id>/export.csv")
def export(campaign_id: int):
    actor = current_actor()
    with unit_of_work() as session:
        columns, _ = stats.export(session, actor, campaign_id)  # refused or unknown: the error page, not half a file

    def lines():
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(columns)
        with unit_of_work() as session:
            for n, row in enumerate(stats.export(session, actor, campaign_id)[1], 1):
                writer.writerow([_cell(row[c]) for c in columns])
                if n % 500 == 0:
                    yield out.getvalue()
                    out.seek(0)
                    out.truncate()
        yield out.getvalue()

    return Response(stream_with_context(lines()), mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="campaign-{campaign_id}.csv"'})
