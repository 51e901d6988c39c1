"""The report as one xlsx workbook (XlsxWriter): the totals sheet first, a sheet per dimension, then
a charts sheet with the PNG charts. Only `hallq report` imports this (the `[reports]` extra)."""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path

import xlsxwriter

from hall.report_files import Table

SHEET_NAME_MAX = 31  # Excel's limit


def write_xlsx(path: Path, tables: Sequence[Table], charts: dict[str, tuple[str, bytes]]) -> None:
    # Rows are written in order, so each sheet's rows go to a temporary file as they come (a
    # month's case list is tens of thousands of rows) instead of staying in memory.
    workbook = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    try:
        bold = workbook.add_format({"bold": True, "bg_color": "#dddddd", "text_wrap": True})
        share = workbook.add_format({"num_format": "0.0%"})
        for table in tables:
            sheet = workbook.add_worksheet(table.title[:SHEET_NAME_MAX])
            sheet.write_row(0, 0, table.header, bold)
            for r, row in enumerate(table.rows, start=1):
                for c, value in enumerate(row):
                    header = str(table.header[c]) if table.name != "totals" else str(row[0])
                    is_share = "rate" in header or "share" in header
                    if value is None:
                        continue
                    if is_share and isinstance(value, float):
                        sheet.write_number(r, c, value, share)
                    else:
                        sheet.write(r, c, value)
            sheet.freeze_panes(1, 2 if table.name != "totals" else 1)
            sheet.set_column(0, 1, 18)
            sheet.set_column(2, len(table.header), 12)
        sheet = workbook.add_worksheet("图表 charts")
        at_row = 0
        for _, (title, png) in charts.items():
            sheet.write(at_row, 0, title, bold)
            sheet.insert_image(at_row + 1, 0, f"{title}.png", {"image_data": io.BytesIO(png)})
            height = int.from_bytes(png[20:24], "big")  # the PNG's IHDR height, pixels
            at_row += height // 20 + 3  # default rows are 20 pixels high
    finally:
        workbook.close()
