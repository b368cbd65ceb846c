"""A report as text, CSV and JSON, and as a chart: a real PNG, not blank, its Chinese drawn with the CJK font."""
from __future__ import annotations

import csv
import datetime as dt
import io
import json
import warnings

import pytest
from matplotlib import font_manager
from PIL import Image

from core.analytics import SEGMENTS
from kiosk.fonts import find_cjk_font
from kiosk.reports import charts
from kiosk.reports.model import FEN, MINUTES, PERCENT, ChartSpec, Column, Period, Report, ReportError
from kiosk.reports.output import text_table, to_csv, to_json

DAYS = Report(
    "sales", "按日销售 Sales by day",
    (Column("day", "日期 Day"), Column("net", "实收 Net", FEN), Column("share", "占比 Share", PERCENT),
     Column("time", "工时 Hours", MINUTES)),
    [(dt.date(2026, 11, 1), 123_456, 125, 90), (dt.date(2026, 11, 2), -5, 875, 0)],
    {"net": 123_451}, ChartSpec("line", "day", ("net",)), Period.of(dt.date(2026, 11, 1), dt.date(2026, 11, 2)),
    ("a note",))


def test_text_csv_and_json_show_money_durations_and_shares_each_their_way() -> None:
    text = text_table(DAYS)
    assert "按日销售 Sales by day  2026-11-01..2026-11-02" in text
    assert "¥1234.56" in text and "-¥0.05" in text and "12.5%" in text and "1:30" in text
    assert "合计 Total" in text and "¥1234.51" in text and text.endswith("* a note")
    widths = {len(line.encode("gbk", "replace")) for line in text.splitlines()[1:3]}  # 中文 two columns wide
    assert len(widths) == 1
    rows = list(csv.reader(io.StringIO(to_csv(DAYS))))
    assert rows == [["day", "net", "share", "time"], ["2026-11-01", "1234.56", "12.5%", "1:30"],
                    ["2026-11-02", "-0.05", "87.5%", "0:00"]]
    data = json.loads(to_json(DAYS))
    assert data["rows"][0] == {"day": "2026-11-01", "net": 123_456, "share": 125, "time": 90}
    assert data["period"] == {"from": "2026-11-01", "to": "2026-11-02"} and data["totals"] == {"net": 123_451}
    assert [c["unit"] for c in data["columns"]] == [None, "fen", "permille", "minutes"]


def _png(report: Report) -> Image.Image:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # matplotlib warns "Glyph ... missing from font(s)" for every box it draws
        data = charts.render(report)
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    return Image.open(io.BytesIO(data)).convert("RGB")


@pytest.mark.parametrize("report", [
    DAYS,
    Report("rfm", "RFM 客户分群", (Column("segment", "客户分群"), Column("members", "人数")),
           [(s.zh_CN, n) for n, s in enumerate(SEGMENTS)], {}, ChartSpec("grid", "segment", ("members",))),
    Report("stock", "库存预警", (Column("name", "品名"), Column("stock", "库存"), Column("low", "预警线")),
           [("绿茶 500ml", 20, 24), ("鲜牛奶 1L", 50, 10)], {}, ChartSpec("bar", "name", ("stock", "low"))),
], ids=["line", "grid", "bars"])
def test_charts_are_real_pngs_drawn_with_the_cjk_font(report: Report) -> None:
    image = _png(report)
    assert image.size == (960, 540)
    assert len(image.getcolors(maxcolors=1 << 16) or range(1 << 16)) > 20  # lines, bars, text: far from blank
    assert font_manager.findfont(charts.font_name(), fallback_to_default=False) == str(find_cjk_font())


def test_the_chinese_title_is_drawn_in_glyphs_not_boxes() -> None:
    """The same title in two different Chinese words must give two different pictures: boxes would be the same."""
    bars = Report("x", "按日销售", (Column("k", "k"), Column("v", "v")), [("a", 1)], {}, ChartSpec("bar", "k", ("v",)))
    first = _png(bars)
    other = _png(Report(**{**bars.__dict__, "title": "按周销售"}))
    assert first.tobytes() != other.tobytes()


def test_a_report_without_a_chart_says_so() -> None:
    with pytest.raises(ReportError, match="no chart"):
        charts.render(Report("x", "x", (), [], {}, None))
