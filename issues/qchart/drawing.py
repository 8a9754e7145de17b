"""The Q chart page's three SVG charts (12 months by grade, the month's Pareto of failure modes
and of categories), drawn from the counts and kept in the cache under a digest of what they are
drawn from; and the worker's drawing ahead after a new problem."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from pathlib import Path
from zoneinfo import ZoneInfo

import reportlab
from django.conf import settings
from django.core.cache import cache
from django.db.models import QuerySet
from django.utils import translation
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from issues.common.pdf_font import chart_font
from issues.models import Plant, Problem
from issues.qchart import charts as qchart
from issues.qchart import data

PARETO_BARS = 10
CHART_CACHE_SECONDS = 7 * 24 * 3600
# Part of every cached chart's key: a deploy with other chart code or another reportlab draws anew.
CHART_CODE = (hashlib.sha256(Path(qchart.__file__).read_bytes()).hexdigest(), reportlab.Version)
logger = logging.getLogger(__name__)


def month_param(year: int, month: int) -> str:
    return f"{year}-{month:02d}"


def month_charts(problems: QuerySet[Problem], year: int, month: int, zone: ZoneInfo, by_month: dict) -> dict:
    """The three SVG charts under the calendar (one more aggregate query, for the Paretos)."""
    months = qchart.last_12_months(dt.date(year, month, 1))
    start = data.month_start(year, month, zone)
    end = data.month_start(*qchart.next_month(year, month), zone)
    shown = month_param(year, month)
    modes, categories = data.pareto_counts(problems, start, end, chinese=(get_language() or "").startswith("zh"))
    without_mode = modes.pop("", 0)
    titles = {
        "months": _("Problems per month by grade"),
        "modes": _("Failure modes, %(month)s") % {"month": shown},
        "categories": _("Categories, %(month)s") % {"month": shown},
    }
    screen = qchart.SCREEN
    charts = {
        "months": (qchart.monthly_bars, (months, by_month, titles["months"], screen), {}),
        "modes": (
            qchart.pareto_chart,
            (qchart.pareto(modes, limit=PARETO_BARS), titles["modes"], screen),
            {"empty": _("No failure mode recorded") if without_mode else ""},
        ),
        "categories": (qchart.pareto_chart, (qchart.pareto(categories), titles["categories"], screen), {}),
    }
    svgs, drawn = _svgs(charts, titles)
    return {"charts": svgs, "without_mode": without_mode, "charts_drawn": drawn}


def _canonical(value):
    """`value` with every dict as its sorted items: the same counts fetched in another row order
    make the same cache key."""
    if isinstance(value, dict):
        return sorted((_canonical(key), _canonical(item)) for key, item in value.items())
    if isinstance(value, list | tuple):
        return [_canonical(item) for item in value]
    return value


def _svgs(charts: dict, titles: dict[str, str]) -> tuple[dict[str, str], int]:
    """Each chart as inline SVG. Drawing one costs 15–40 ms of reportlab (renderSVG builds a DOM
    of a thousand nodes), more than the rest of the page, so the SVG is cached under a digest of
    everything it is drawn from: a new problem changes the counts and so the key, nothing is
    ever stale, and a shop-floor screen reloading the same month draws nothing. A worker draws
    them ahead after each new problem (draw_ahead). Also returns how many it had to draw."""
    # The font drawn with is part of the key too: charts drawn with the fallback while the font
    # file was missing are drawn anew once it is back, and another font file draws anew.
    code = (*CHART_CODE, chart_font().identity)
    keys = {
        name: "qchart-svg:"
        + hashlib.sha256(repr(_canonical((code, name, make.__name__, args, kwargs))).encode()).hexdigest()
        for name, (make, args, kwargs) in charts.items()
    }
    try:
        found = cache.get_many(list(keys.values()))
    except Exception:  # a cache that is down costs drawing time, never the page
        logger.warning("Q chart: cache unavailable, drawing the charts", exc_info=True)
        found = {}
    svgs, drawn = {}, {}
    for name, (make, args, kwargs) in charts.items():
        svg = found.get(keys[name])
        if svg is None:
            svg = drawn[keys[name]] = qchart.inline_svg(make(*args, **kwargs), f"qchart-{name}", titles[name])
        svgs[name] = svg
    if drawn:
        try:
            cache.set_many(drawn, CHART_CACHE_SECONDS)
        except Exception:
            logger.warning("Q chart: cache unavailable, charts not kept", exc_info=True)
    return svgs, len(drawn)


def draw_ahead(plant: Plant, year: int, month: int) -> int:
    """Draw and keep the charts of a month for `plant` and each of its workshops in every
    language, as they are shown to a reader who sees all of them (the cache key is what is
    drawn, so everyone whose chart counts the same problems finds them too). Run by a worker
    after a problem is logged (issues.qchart.tasks.draw_qcharts): the next reader does not wait for
    reportlab. Returns the number of charts drawn; 0 when all were kept already."""
    zone = plant.zone
    whole = Problem.objects.filter(plant_id=plant.pk)
    subjects = [whole] + [
        whole.filter(line_id__in=[line.pk for line in workshop.lines.all()])
        for workshop in plant.workshops.prefetch_related("lines")
        if workshop.lines.all()
    ]
    drawn = 0
    for problems in subjects:
        _by_day, by_month = data.calendar_counts(problems, year, month, zone)
        for language, _name in settings.LANGUAGES:
            with translation.override(language):
                drawn += month_charts(problems, year, month, zone, by_month)["charts_drawn"]
    return drawn
