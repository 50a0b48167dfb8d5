# SPDX-License-Identifier: GPL-2.0
"""The HTML table every section of the report is made of."""
import html

# The page style of every HTML page heaplab writes (report, cma-size).
STYLE = ("<style>body{font-family:sans-serif;max-width:1300px;margin:auto}"
         "table{border-collapse:collapse;font-size:12px}td,th{border:1px solid #bbb;"
         "padding:2px 6px;text-align:right}td:first-child{text-align:left}"
         "img{max-width:100%}</style>")


def table(head, rows):
    h = "".join(f"<th>{html.escape(str(c))}</th>" for c in head)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in r) + "</tr>"
                   for r in rows)
    return f"<table><tr>{h}</tr>{body}</table>"
