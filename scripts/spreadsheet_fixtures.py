"""Bulk-invitation files as other tools save them, for the import tests: xlsx by openpyxl, xls by
xlwt, ods by odfpy (all pinned from PyPI in the test venv). Each holds the same people, so a test
can expect the same report from each; addresses carry SUFFIX so that tests sharing a mail store
tell their mail apart.

Usage: python spreadsheet_fixtures.py OUTDIR SUFFIX [IDENTIFIER]
(IDENTIFIER, default 00123, is the text identifier's value: unique per organisation.)
Writes OUTDIR/openpyxl.xlsx, OUTDIR/xlwt.xls and OUTDIR/odfpy.ods.

The rows (after the header), in order:
  ada       email, groups "sales, Support"              -> invited
  zoe       email, unicode names                        -> invited
  00123     identifier typed as text                    -> invited
  123       identifier in a numeric cell (zeros lost)   -> skipped uid_not_text
  dated     email, a date as the last name              -> skipped cell_not_text
  flagged   email, TRUE as the first name               -> skipped cell_not_text
  (empty row)                                           -> not a row
  formula   email, first name the formula ="Form": its value is what is read, and a tool that
            never computed it (openpyxl, xlwt) leaves none -> skipped missing_first_name; odfpy
            stores the value -> invited
The xlsx also has a hidden sheet first, a merged title row above the header and an extra sheet.
"""

import datetime
import os
import sys


def people(suffix):
    return {
        "ada": f"ada.{suffix}@example.com",
        "zoe": f"zoe.{suffix}@example.com",
        "dated": f"dated.{suffix}@example.com",
        "flagged": f"flagged.{suffix}@example.com",
        "formula": f"formula.{suffix}@example.com",
    }


# French headers, in another order than the template's.
HEADERS = ["Prénom", "Nom", "Courriel", "Identifiant", "Groupes"]


IDENTIFIER = ["00123"]


def rows(suffix):
    p = people(suffix)
    return [
        ["Ada", "Lovelace", p["ada"], None, "sales, Support"],
        ["Zoë", "Łukasiewicz-Núñez", p["zoe"], None, None],
        ["Grace", "Hopper", None, IDENTIFIER[0], None],
        ["Numeric", "Identifier", None, 123, None],
        ["Dated", datetime.date(2024, 5, 17), p["dated"], None, None],
        [True, "Flagged", p["flagged"], None, None],
        [None, None, None, None, None],
        [("formula", "Form"), "Ula", p["formula"], None, None],
    ]


def openpyxl_file(path, suffix):
    import openpyxl

    book = openpyxl.Workbook()
    # A hidden sheet first, which the reader must pass over, and an extra sheet after.
    hidden = book.active
    hidden.title = "Hidden"
    hidden.append(["Email", "First name", "Last name"])
    hidden.append(["hidden@example.com", "Not", "Read"])
    hidden.sheet_state = "hidden"
    sheet = book.create_sheet("Personnes")
    sheet.append(["Invitations de mars"])
    sheet.merge_cells("A1:E1")  # a merged title row above the header
    sheet.append(HEADERS)
    for row in rows(suffix):
        cells = []
        for value in row:
            if isinstance(value, tuple):
                # openpyxl writes no cached value: a formula Excel would compute to text.
                cells.append('="' + value[1] + '"')
            else:
                cells.append(value)
        sheet.append(cells)
    for cell in sheet["D"]:
        if isinstance(cell.value, str):
            cell.number_format = "@"
    book.create_sheet("Notes").append(["anything", "else"])
    book.save(path)


def xlwt_file(path, suffix):
    import xlwt

    book = xlwt.Workbook()
    sheet = book.add_sheet("Invitations")
    date_style = xlwt.easyxf(num_format_str="YYYY-MM-DD")
    for col, header in enumerate(HEADERS):
        sheet.write(0, col, header)
    r = 1
    for row in rows(suffix):
        for col, value in enumerate(row):
            if value is None:
                continue
            if isinstance(value, tuple):
                sheet.write(r, col, xlwt.Formula('"' + value[1] + '"'))
            elif isinstance(value, datetime.date):
                sheet.write(r, col, value, date_style)
            else:
                sheet.write(r, col, value)
        r += 1
    book.save(path)


def odfpy_file(path, suffix):
    from odf.opendocument import OpenDocumentSpreadsheet
    from odf.table import Table, TableCell, TableRow
    from odf.text import P

    doc = OpenDocumentSpreadsheet()
    table = Table(name="Invitations")

    def add(values):
        tr = TableRow()
        for value in values:
            if value is None:
                tr.addElement(TableCell())
                continue
            if isinstance(value, tuple):
                cell = TableCell(
                    valuetype="string",
                    formula='of:="' + value[1] + '"',
                    stringvalue=value[1],
                )
                cell.addElement(P(text=value[1]))
            elif isinstance(value, bool):
                cell = TableCell(valuetype="boolean", booleanvalue="true" if value else "false")
                cell.addElement(P(text="TRUE" if value else "FALSE"))
            elif isinstance(value, datetime.date):
                cell = TableCell(valuetype="date", datevalue=value.isoformat())
                cell.addElement(P(text=value.isoformat()))
            elif isinstance(value, (int, float)):
                cell = TableCell(valuetype="float", value=value)
                cell.addElement(P(text=str(value)))
            else:
                cell = TableCell(valuetype="string")
                cell.addElement(P(text=value))
            tr.addElement(cell)
        table.addElement(tr)

    add(HEADERS)
    for row in rows(suffix):
        add(row)
    doc.spreadsheet.addElement(table)
    doc.save(path)


def main():
    out, suffix = sys.argv[1], sys.argv[2]
    if len(sys.argv) > 3:
        IDENTIFIER[0] = sys.argv[3]
    os.makedirs(out, exist_ok=True)
    openpyxl_file(os.path.join(out, "openpyxl.xlsx"), suffix)
    xlwt_file(os.path.join(out, "xlwt.xls"), suffix)
    odfpy_file(os.path.join(out, "odfpy.ods"), suffix)


if __name__ == "__main__":
    main()
