"""Static checks of site/: nothing from other hosts, no storage, and JavaScript that 2018 phones can run."""

from __future__ import annotations

import re
from pathlib import Path

SITE = Path(__file__).resolve().parents[2] / "site"


def source_files() -> list[Path]:
    return [p for p in SITE.rglob("*") if p.suffix in {".html", ".js", ".css"}]


def without_comments(text: str) -> str:
    return re.sub(r"/\*.*?\*/|(?<![:\"'])//[^\n]*|<!--.*?-->", "", text, flags=re.S)


def test_the_site_loads_nothing_from_other_hosts_and_stores_nothing_in_the_browser():
    for path in source_files():
        code = without_comments(path.read_text(encoding="utf-8"))
        assert not re.search(r"https?://", code), f"{path.name} refers to another host"
        assert not re.search(r"document\.cookie|localStorage|sessionStorage|indexedDB", code), path.name


def test_the_scripts_avoid_syntax_and_calls_that_2018_phones_do_not_have():
    """Safari 12 / Chrome 70: no optional chaining, no nullish coalescing, no replaceChildren, no fromEntries."""
    too_new = re.compile(r"\?\.[A-Za-z_(\[]|\?\?|\.replaceChildren\(|Object\.fromEntries|\.replaceAll\(|\.at\(")
    for path in (SITE / "js").rglob("*.js"):
        code = without_comments(path.read_text(encoding="utf-8"))
        found = too_new.findall(code)
        assert not found, f"{path.name}: {found}"
