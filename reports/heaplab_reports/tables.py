# SPDX-License-Identifier: GPL-2.0
"""The HTML table every section of the report is made of."""
import html


def table(head, rows):
    h = "".join(f"<th>{html.escape(str(c))}</th>" for c in head)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in r) + "</tr>"
                   for r in rows)
    return f"<table><tr>{h}</tr>{body}</table>"
