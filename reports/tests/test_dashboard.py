# SPDX-License-Identifier: GPL-2.0
"""heaplab history report's page (dashboard.py) over a generated history
(dashdata.py: fixture values, synthetic runs and findings): its structure,
every plot and link resolving, the open regressions newest first, escaping,
reports gone or outside the page's parent. tests/history.test loads the
same page in a real browser."""
import copy
import html.parser
import os
import tempfile
import unittest
import urllib.parse

import dashdata
from common import tmpdir
from heaplab_reports import dashboard, data


class Page(html.parser.HTMLParser):
    """What the tests look at: ids, links, images, tables' rows, text."""

    def __init__(self, path):
        super().__init__()
        self.ids, self.hrefs, self.imgs, self.tables, self.text, self.open = [], [], [], [], [], []
        self.cell = None
        with open(path) as f:
            self.feed(f.read())

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "id" in a:
            self.ids.append(a["id"])
        if tag == "a":
            self.hrefs.append(a.get("href"))
        if tag == "img":
            self.imgs.append(a)
        if tag == "table":
            self.tables.append((a.get("class"), []))
        if tag == "tr":
            self.tables[-1][1].append([])
        if tag in ("td", "th"):
            self.cell = []
        if tag not in ("img", "meta"):
            self.open.append(tag)

    def handle_endtag(self, tag):
        self.assert_closes(tag)
        if tag in ("td", "th"):
            self.tables[-1][1][-1].append("".join(self.cell))
            self.cell = None

    def assert_closes(self, tag):
        if not self.open or self.open[-1] != tag:
            raise AssertionError(f"</{tag}> closes <{self.open[-1] if self.open else None}>")
        self.open.pop()

    def handle_data(self, d):
        self.text.append(d)
        if self.cell is not None:
            self.cell.append(d)


class Dashboard(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.top = os.path.join(tmpdir(cls), "t")
        cls.sl, cls.fs, cls.runs, cls.out = dashdata.make(cls.top)
        cls.made = dashboard.write(cls.sl, cls.fs, cls.runs, cls.out)
        cls.page = Page(os.path.join(cls.out, "index.html"))

    def table(self, cls):
        return [t for c, t in self.page.tables if c == cls][0]

    def test_structure(self):
        """every tag closed, one anchor and one PNG plot per series, grouped per machine and kernel"""
        p = self.page
        self.assertEqual(p.open, [])
        for s in self.sl:
            self.assertIn(s["key"], p.ids)
            png = os.path.join(self.out, "plots", s["key"] + ".png")
            with open(png, "rb") as f:
                self.assertEqual(f.read(8), b"\x89PNG\r\n\x1a\n", png)
        self.assertEqual(sorted(i["src"] for i in p.imgs),
                         sorted(m.replace(os.sep, "/") for m in self.made))
        self.assertEqual(len(p.imgs), len(self.sl))
        self.assertEqual(len(p.ids), len(set(p.ids)))
        self.assertEqual(sum(1 for i in p.ids if i.startswith("group-")),
                         len({(s["machine"], s["kernel"]) for s in self.sl}))

    def test_every_link_resolves(self):
        """every href: an anchor on the page, a file relative to it, or an existing file:// path"""
        for h in self.page.hrefs:
            u = urllib.parse.urlparse(h)
            if h.startswith("#"):
                self.assertIn(h[1:], self.page.ids)
            elif u.scheme == "file":
                self.assertTrue(os.path.isfile(urllib.parse.unquote(u.path)), h)
            else:
                self.assertEqual(u.scheme, "", h)
                self.assertTrue(os.path.isfile(os.path.join(self.out, urllib.parse.unquote(h))), h)

    def test_report_links(self):
        """a report under the page's parent: relative; elsewhere: file://; gone: "(missing)", no link"""
        runs = self.table("runs")
        hrefs = self.page.hrefs
        self.assertIn("../runs/1/index.html", hrefs)
        self.assertTrue(any(h.startswith("file://") and h.endswith("-elsewhere/report/index.html")
                            for h in hrefs), hrefs)
        gone = self.runs[5]["report"]
        self.assertIn(f"{gone} (missing)", "".join(self.page.text))
        self.assertFalse(any(h and "gone" in h for h in hrefs), hrefs)
        self.assertEqual([int(r[0]) for r in runs[1:]], list(range(len(self.runs), 0, -1)))
        self.assertEqual(runs[1 + len(self.runs) - 6][5], f"{gone} (missing)")

    def test_open_regressions_newest_first(self):
        """open regressions newest run first; one undone by a later improvement is listed apart"""
        rows = self.table("reg")[1:]
        seqs = [int(r[0]) for r in rows]
        self.assertEqual(seqs, sorted(seqs, reverse=True))
        self.assertEqual(seqs, [dashdata.STEP + 1, 3])
        self.assertIn("(new)", rows[1][4])
        self.assertEqual(rows[0][1], self.fs[0]["commit"])
        self.assertEqual(len(dashboard.open_regressions(self.fs)), 2)

    def test_escaping(self):
        """metric, machine, kernel and commit text are escaped: nothing of them becomes markup"""
        sl, fs, runs = copy.deepcopy(self.sl), copy.deepcopy(self.fs), copy.deepcopy(self.runs)
        evil = "<script>alert(1)</script>&\"'"
        for s in sl[:2]:
            s["machine"] = s["kernel"] = evil
        fs[0]["commit"] = evil
        runs[0]["commit"] = evil
        with tempfile.TemporaryDirectory() as t:
            out = os.path.join(t, "d")
            dashboard.write(sl, fs, runs, out)
            with open(os.path.join(out, "index.html")) as f:
                text = f.read()
            self.assertNotIn("<script>", text)
            self.assertIn("&lt;script&gt;", text)
            p = Page(os.path.join(out, "index.html"))
            self.assertIn("alloc size=4096 alloc <heaplab/upstream> & \"p50\"", "".join(p.text))
            self.assertEqual(p.open, [])

    def test_empty_history(self):
        """no run yet: a page saying so, no image"""
        with tempfile.TemporaryDirectory() as t:
            self.assertEqual(dashboard.write([], [], [], t), [])
            p = Page(os.path.join(t, "index.html"))
            self.assertEqual(p.imgs, [])
            self.assertIn("No run in the history yet", "".join(p.text))

    def test_bad_key(self):
        """a series key that is not a plain file name is refused"""
        s = dict(copy.deepcopy(self.sl[0]), key="../x")
        with tempfile.TemporaryDirectory() as t:
            with self.assertRaisesRegex(data.BadInput, "not a file name"):
                dashboard.write([s], [], [], t)


if __name__ == "__main__":
    unittest.main()
