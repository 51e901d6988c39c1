"""`hallq report` on a simulated busy day of the example hall: the xlsx read back with openpyxl,
the html parsed, each chart a PNG that decodes, is not blank and draws its Chinese; the totals match
the store; the ratings export in a platform's column order."""

from __future__ import annotations

import csv
import importlib.util
import io
import sqlite3
import warnings
from datetime import date
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from hall.config.schema import load_config
from hall.reports.cli import main
from hall.tools.report_sample import Recorder, play_day
from tests.fixtures.parts import missing
from tests.fixtures.screen import missing_glyphs

ROOT = Path(__file__).resolve().parents[3]
CONFIG = ROOT / "deploy/examples/small-hall.toml"
DAY = date(2026, 11, 26)


def need(module: str) -> None:
    if importlib.util.find_spec(module) is None:
        missing(f"the Python package {module!r}", "pip install 'hallq[reports]'")


@pytest.fixture(scope="module")
def busy_day(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = tmp_path_factory.mktemp("data")
    recorder = Recorder(load_config(CONFIG), data)
    try:
        play_day(recorder, DAY, visitors=400, seed=7)
    finally:
        recorder.close()
    return data


def store_counts(data: Path) -> dict[str, int]:
    with sqlite3.connect(data / "hall.sqlite3") as db:
        rows = db.execute(
            "SELECT type, COUNT(*) FROM events WHERE business_day = ? GROUP BY type",
            (DAY.isoformat(),),
        )
        return dict(rows.fetchall())


def report(data: Path, out: Path, *extra: str) -> None:
    argv = ["--config", str(CONFIG), "--data", str(data), "--from", DAY.isoformat(), *extra]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # matplotlib warns of each glyph its font lacks
        assert main([*argv, "--out", str(out)]) == 0


def check_png(png: bytes) -> None:
    from PIL import Image

    image = Image.open(io.BytesIO(png))
    image.load()
    assert image.width > 300 and image.height > 200
    colors = image.convert("L").getcolors(maxcolors=1_000_000)
    assert colors is not None and len(colors) > 10  # drawn on, not one blank colour


def test_the_xlsx_report_of_a_busy_day(busy_day: Path, tmp_path: Path) -> None:
    for module in ("openpyxl", "xlsxwriter", "matplotlib"):
        need(module)
    import openpyxl

    from hall.reports.charts import cjk_font

    if cjk_font() is None:
        missing("a CJK font", "apt-get install fonts-wqy-microhei (tools/bootstrap.sh)")
    out = tmp_path / "day.xlsx"
    report(busy_day, out, "--format", "xlsx")
    book = openpyxl.load_workbook(out)
    assert book.sheetnames[0] == "总计 totals"
    assert "按部门 departments" in book.sheetnames and book.sheetnames[-1] == "图表 charts"
    totals = {row[0]: row[1] for row in book["总计 totals"].iter_rows(min_row=2, values_only=True)}
    counts = store_counts(busy_day)
    assert totals["取号 issued"] == counts["ticket_issued"] > 300
    assert totals["办结 served"] == counts["ticket_done"]
    assert totals["评价数 rated"] == counts["ticket_rated"]
    assert totals["叫号 called"] == counts["ticket_called"]
    assert totals["过号 no-show"] == counts.get("ticket_no_show", 0) > 0
    assert totals["转办 transferred"] == counts.get("ticket_transferred", 0) > 0
    assert totals["取消 cancelled"] == counts.get("ticket_cancelled", 0)
    departments = list(book["按部门 departments"].iter_rows(min_row=2, values_only=True))
    assert sum(row[2] for row in departments) == counts["ticket_issued"]
    images = book["图表 charts"]._images  # openpyxl keeps the embedded pictures here
    assert len(images) == 4
    for image in images:
        check_png(image._data())


class Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tables: list[str] = []
        self.images: list[str] = []
        self.alts: list[str] = []
        self.cells: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "table":
            self.tables.append(found["id"] or "")
        elif tag == "img":
            self.images.append(found["src"] or "")
            self.alts.append(found["alt"] or "")

    def handle_data(self, data: str) -> None:
        self.cells.append(data)


def test_the_html_and_csv_reports(busy_day: Path, tmp_path: Path) -> None:
    need("matplotlib")
    import base64

    page = Page()
    report(busy_day, tmp_path / "day.html", "--format", "html")
    page.feed((tmp_path / "day.html").read_text(encoding="utf-8"))
    assert page.tables == [
        "totals", "service", "department", "window", "clerk", "hour", "day", "cases",
    ]  # fmt: skip
    assert len(page.images) == 4
    assert all(any("\u4e00" <= ch <= "\u9fff" for ch in title) for title in page.alts)
    assert missing_glyphs(page.alts) == set()  # the hall's CJK font draws every character
    for src in page.images:
        assert src.startswith("data:image/png;base64,")
        check_png(base64.b64decode(src.split(",", 1)[1]))
    report(busy_day, tmp_path / "csv", "--format", "csv", "--department", "psb")
    with (tmp_path / "csv/department.csv").open(encoding="utf-8-sig") as f:
        rows = list(csv.reader(f))
    assert [row[0] for row in rows[1:]] == ["psb"]  # only that department's tickets
    assert {p.name for p in (tmp_path / "csv").glob("*.png")} == {
        "hourly.png", "waits.png", "ratings.png", "cases.png",
    }  # fmt: skip


def test_the_glyph_check_catches_a_chart_drawn_without_chinese() -> None:
    """The report tests turn warnings into errors: matplotlib warns of every glyph its font lacks,
    so a chart whose Chinese came out as boxes fails them (here: a font with no CJK)."""
    need("matplotlib")
    from matplotlib import rc_context

    from hall.reports.charts import _png

    with rc_context({"font.family": ["DejaVu Sans"]}):
        from matplotlib.figure import Figure

        fig = Figure(figsize=(4, 3))
        fig.add_subplot().set_title("每小时取号与叫号")
        with pytest.warns(UserWarning, match="missing from font"):
            _png(fig)


def test_the_ratings_export_follows_the_mapping(busy_day: Path, tmp_path: Path) -> None:
    mapping = tmp_path / "platform.toml"
    mapping.write_text(
        'encoding = "gb18030"\n'
        '[[columns]]\ntitle = "办件编号"\nfield = "ticket"\n'
        '[[columns]]\ntitle = "评价渠道"\nvalue = "窗口评价器"\n'
        '[[columns]]\ntitle = "评价等级"\nfield = "score"\n'
        '[[columns]]\ntitle = "事项名称"\nfield = "service_name"\n',
        encoding="utf-8",
    )
    out = tmp_path / "ratings.csv"
    argv = ["--config", str(CONFIG), "--data", str(busy_day), "--from", DAY.isoformat()]
    assert main([*argv, "--ratings-export", "--mapping", str(mapping), "--out", str(out)]) == 0
    with out.open(encoding="gb18030") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["办件编号", "评价渠道", "评价等级", "事项名称"]
    assert len(rows) - 1 == store_counts(busy_day)["ticket_rated"]
    assert all(row[1] == "窗口评价器" and row[2] in "12345" for row in rows[1:])
    bad = tmp_path / "bad.toml"
    bad.write_text('[[columns]]\ntitle = "x"\nfield = "tikcet"\n', encoding="utf-8")
    assert main([*argv, "--ratings-export", "--mapping", str(bad), "--out", str(out)]) == 2


def test_bad_arguments_say_what_to_do(tmp_path: Path, capsys: pytest.CaptureFixture[Any]) -> None:
    argv = ["--config", str(CONFIG), "--from", DAY.isoformat(), "--out", str(tmp_path / "x")]
    assert main([*argv, "--data", str(tmp_path)]) == 1
    assert "no hall store" in capsys.readouterr().err
    assert main([*argv, "--data", str(tmp_path), "--department", "nope"]) == 2
    assert "unknown department" in capsys.readouterr().err


def test_an_out_path_in_a_missing_folder_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[Any]
) -> None:
    argv = ["--config", str(CONFIG), "--data", str(tmp_path), "--from", DAY.isoformat()]
    assert main([*argv, "--out", str(tmp_path / "no/such/day.xlsx")]) == 2
    assert "make it first" in capsys.readouterr().err
