"""The site runs under a Content-Security-Policy without 'unsafe-inline': nothing inline may be needed."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

SITE = Path(__file__).resolve().parents[2] / "site"
PAGES = sorted(SITE.glob("*.html"))


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.csp: list[str] = []
        self.inline: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "meta" and (attributes.get("http-equiv") or "").lower() == "content-security-policy":
            self.csp.append(attributes.get("content") or "")
        if tag == "style":
            self.inline.append("<style>")
        if tag == "script":
            self._in_script = "src" not in attributes
        for name, value in attrs:
            if name == "style" or name.startswith("on"):
                self.inline.append(f"<{tag} {name}=…>")
            if name in ("href", "src", "action") and (value or "").strip().lower().startswith("javascript:"):
                self.inline.append(f"<{tag} {name}=javascript:…>")

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = False

    def handle_data(self, data):
        if self._in_script and data.strip():
            self.inline.append("inline <script>")


def _directives(policy: str) -> dict[str, list[str]]:
    return {d.split()[0]: d.split()[1:] for d in (p.strip() for p in policy.split(";")) if d}


def test_there_are_pages_to_check():
    assert PAGES


def test_every_page_has_a_csp_that_allows_only_own_files_to_run():
    for page in PAGES:
        parsed = _Page()
        parsed.feed(page.read_text(encoding="utf-8"))
        assert len(parsed.csp) == 1, f"{page.name}: one CSP meta expected"
        directives = _directives(parsed.csp[0])
        assert directives["default-src"] == ["'none'"]
        assert directives["script-src"] == ["'self'"] and directives["style-src"] == ["'self'"]
        assert directives["object-src"] == ["'none'"] and directives["base-uri"] == ["'none'"]
        assert not re.search(r"unsafe-(inline|eval)|\*", parsed.csp[0])


def test_no_page_has_inline_script_style_or_event_handler_attributes():
    for page in PAGES:
        parsed = _Page()
        parsed.feed(page.read_text(encoding="utf-8"))
        assert parsed.inline == [], f"{page.name}: {parsed.inline}"


def test_the_scripts_do_not_set_inline_styles_or_evaluate_strings():
    pattern = re.compile(
        r"\.style\s*[.=\[]|setAttribute\(\s*['\"](?:style|on\w+)['\"]|\beval\(|new Function\(|"
        r"innerHTML|outerHTML|insertAdjacentHTML|document\.write"
    )
    comments = re.compile(r"/\*.*?\*/|(?<![:\"'])//[^\n]*", re.DOTALL)
    for path in (SITE / "js").rglob("*.js"):
        found = pattern.findall(comments.sub("", path.read_text(encoding="utf-8")))
        assert not found, f"{path.relative_to(SITE)}: {found}"
