#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Loads a static page in headless Chromium (Debian's chromium,
chromium-driver, python3-selenium) and checks what a reader would see:

  browser-check.py PAGE [--imgs N] [--regression RUN:COMMIT:METRIC]...

the page loads, the console has no SEVERE entry, every <img> decoded
(naturalWidth > 0; N of them with --imgs), every link resolves: an anchor
to an id on the page, a file that exists (each local page it links to is
loaded too, without SEVERE entries); with --regression, the open
regressions table (after #regressions) shows a row of that run, commit
and metric, as a reader sees it. One line per check, "ok - WHAT" or
"not ok - WHAT" with "# " details; tests/history.test numbers them. Exit 1
on a failed check."""
import argparse
import os
import sys
import tempfile
import urllib.parse

try:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.support.ui import WebDriverWait
except ImportError as e:
    print(f"not ok - the browser check needs Debian's python3-selenium ({e};"
          " tools/install-deps --check)")
    sys.exit(1)

DRIVER = "/usr/bin/chromedriver"
CHROMIUM = "/usr/bin/chromium"
failed = 0


def result(ok, what, details=()):
    global failed
    failed += not ok
    print(f"{'ok' if ok else 'not ok'} - {what}")
    for d in details:
        print(f"# {d}")


def browser(profile):
    o = webdriver.ChromeOptions()
    o.binary_location = CHROMIUM
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
              "--no-first-run", f"--user-data-dir={profile}"):
        o.add_argument(a)
    o.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    d = webdriver.Chrome(service=Service(DRIVER), options=o)
    d.set_page_load_timeout(60)
    return d


def load(d, url):
    d.get(url)
    WebDriverWait(d, 30).until(lambda d: d.execute_script("return document.readyState") == "complete")


def severe(d):
    return [f"{e.get('source', '')}: {e['message']}" for e in d.get_log("browser")
            if e.get("level") == "SEVERE"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("page")
    ap.add_argument("--imgs", type=int)
    ap.add_argument("--regression", action="append", default=[], metavar="RUN:COMMIT:METRIC")
    a = ap.parse_args()
    page = os.path.abspath(a.page)
    for path, pkg in ((CHROMIUM, "chromium"), (DRIVER, "chromium-driver")):
        if not os.access(path, os.X_OK):
            result(False, f"the browser check needs Debian's {pkg} ({path} missing;"
                   " tools/install-deps --check)")
            return 1
    with tempfile.TemporaryDirectory() as profile:
        d = browser(profile)
        try:
            check(d, page, a.imgs, a.regression)
        finally:
            d.quit()
    return 1 if failed else 0


def regressions(d, want):
    """Each RUN:COMMIT:METRIC of @want is a row of the open regressions."""
    rows = d.execute_script("const h = document.getElementById('regressions');"
                            " const t = h && h.nextElementSibling;"
                            " return t && t.tagName == 'TABLE' ? [...t.rows].slice(1).map("
                            "r => [...r.cells].map(c => c.innerText.trim())) : null")
    if rows is None:
        result(False, "the page has an open regressions table (#regressions, then a table)")
        return
    for w in want:
        run, commit, metric = w.split(":", 2)
        hit = [r for r in rows if r[:3] == [run, commit, metric]]
        result(bool(hit), f"the open regressions name {metric} at run {run} (commit {commit})"
               + (f": {hit[0][4]}, {hit[0][5]}" if hit and len(hit[0]) > 5 else ""),
               [" | ".join(r[:6]) for r in rows[:10]] if not hit else ())


def check(d, page, want_imgs, want_regs=()):
    url = "file://" + urllib.parse.quote(page)
    load(d, url)
    title = d.title
    result(bool(title) and d.find_elements("tag name", "body") != [],
           f"chromium loads {os.path.basename(page)} (title {title!r})")
    imgs = d.execute_script("return [...document.images].map(i => [i.getAttribute('src'),"
                            " i.complete, i.naturalWidth])")
    links = d.execute_script("return [...document.links].map(a => [a.getAttribute('href'), a.href])")
    ids = set(d.execute_script("return [...document.querySelectorAll('[id]')].map(e => e.id)"))
    log = severe(d)
    result(not log, f"no SEVERE console entry on the page ({len(log)})", log[:10])
    bad = [f"{s}: complete {c}, naturalWidth {w}" for s, c, w in imgs if not (c and w > 0)]
    n = f"{len(imgs)} images" + (f" (want {want_imgs})" if want_imgs is not None else "")
    result(not bad and (want_imgs is None or len(imgs) == want_imgs),
           f"every image decoded: {n}", bad[:10])
    bad, pages = [], set()
    for raw, absu in links:
        u = urllib.parse.urlparse(absu)
        if raw.startswith("#"):
            if raw[1:] not in ids:
                bad.append(f"{raw}: no element with that id")
        elif u.scheme == "file":
            path = urllib.parse.unquote(u.path)
            if not os.path.isfile(path):
                bad.append(f"{raw}: {path} does not exist")
            elif path.endswith(".html") and path != page:
                pages.add(absu.split("#")[0])
        else:
            bad.append(f"{raw}: not a local link")
    result(not bad, f"every link resolves: {len(links)} links, {len(pages)} other local pages",
           bad[:10])
    if want_regs:
        regressions(d, want_regs)
    bad = []
    for p in sorted(pages):
        load(d, p)
        bad += [f"{p}: {m}" for m in severe(d)]
    result(not bad, f"each linked local page loads without a SEVERE entry ({len(pages)})", bad[:10])


if __name__ == "__main__":
    sys.exit(main())
