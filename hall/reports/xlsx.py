"""The report as one xlsx workbook (XlsxWriter): the totals sheet first, a sheet per dimension, then
a charts sheet with the PNG charts. Only `hallq report` imports this (the `[reports]` extra)."""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path

import xlsxwriter

from hall.reports.files import Table

SHEET_NAME_MAX = 31  # Excel's limit


def write_xlsx(path: Path, tables: Sequence[Table], charts: dict[str, tuple[str, bytes]]) -> None:
    # Rows are written in order, so each sheet's rows go to a temporary file as they come (a
    # month's case list is tens of thousands of rows) instead of staying in memory. Text from the
    # store is data: never turned into a formula (a leading "=") or a link (and not checked for
    # either, cell by cell).
    options = {"constant_memory": True, "strings_to_formulas": False, "strings_to_urls": False}
    workbook = xlsxwriter.Workbook(str(path), options)
    try:
        bold = workbook.add_format({"bold": True, "bg_color": "#dddddd", "text_wrap": True})
        share = workbook.add_format({"num_format": "0.0%"})
        for table in tables:
            sheet = workbook.add_worksheet(table.title[:SHEET_NAME_MAX])
            totals = table.name == "totals"  # one figure a row, named in the first column
            sheet.freeze_panes(1, 1 if totals else 2)
            sheet.set_column(0, 1, 18)
            sheet.set_column(2, len(table.header), 12)
            sheet.write_row(0, 0, table.header, bold)
            shares = {c for c, title in enumerate(table.header) if _is_share(str(title))}
            for r, row in enumerate(table.rows, start=1):
                if totals:
                    shares = {1} if _is_share(str(row[0])) else set()
                for c, value in enumerate(row):
                    if value is None:
                        continue
                    if c in shares and isinstance(value, float):
                        sheet.write_number(r, c, value, share)
                    else:
                        sheet.write(r, c, value)
        sheet = workbook.add_worksheet("图表 charts")
        at_row = 0
        for _, (title, png) in charts.items():
            sheet.write(at_row, 0, title, bold)
            sheet.insert_image(at_row + 1, 0, f"{title}.png", {"image_data": io.BytesIO(png)})
            height = int.from_bytes(png[20:24], "big")  # the PNG's IHDR height, pixels
            at_row += height // 20 + 3  # default rows are 20 pixels high
    finally:
        workbook.close()


def _is_share(title: str) -> bool:
    return "rate" in title or "share" in title
