"""The message files: every text the site shows is in both languages, with the same placeholders."""

from __future__ import annotations

import json
import re
from pathlib import Path

SITE = Path(__file__).resolve().parents[2] / "site"
LANGUAGES = ("de", "en")


def load(lang: str) -> dict:
    return json.loads((SITE / "i18n" / f"{lang}.json").read_text(encoding="utf-8"))


def flatten(node, prefix: str = "") -> dict[str, object]:
    """{dotted key: leaf}; a list counts as one leaf (its length and placeholders are compared)."""
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            out.update(flatten(value, f"{prefix}{key}."))
        return out
    return {prefix.rstrip("."): node}


def placeholders(value) -> set[str]:
    return set(re.findall(r"\{(\w+)\}", json.dumps(value, ensure_ascii=False)))


def test_german_and_english_have_the_same_messages_with_the_same_placeholders():
    de, en = (flatten(load(lang)) for lang in LANGUAGES)
    assert sorted(de) == sorted(en)
    for key in de:
        assert placeholders(de[key]) == placeholders(en[key]), key
        de_value, en_value = de[key], en[key]
        if isinstance(de_value, list):
            assert isinstance(en_value, list) and len(de_value) == len(en_value), key


def test_every_message_key_the_code_uses_exists():
    messages = flatten(load("de"))
    prefixes = {key.rsplit(".", 1)[0] for key in messages} | set(messages)
    code = "\n".join(p.read_text(encoding="utf-8") for p in (SITE / "js").rglob("*.js"))
    used = set(re.findall(r"\bt(?:List)?\('([a-z_.]+)'", code))
    used |= set(re.findall(r"data-i18n=\"([a-z_.]+)\"", (SITE / "index.html").read_text(encoding="utf-8")))
    missing = sorted(key for key in used if key not in messages and key not in prefixes)
    assert not missing, missing


def test_no_german_or_english_sentences_are_written_into_the_code():
    """User-facing text lives in the message files; code holds keys. (Comments are allowed to be prose.)"""
    offenders = []
    for path in [*(SITE / "js").rglob("*.js"), SITE / "index.html"]:
        text = path.read_text(encoding="utf-8")
        text = re.sub(r"/\*.*?\*/|//[^\n]*|<!--.*?-->", "", text, flags=re.S)
        for literal in re.findall(r"'([^'\n]*)'|\"([^\"\n]*)\"|`([^`]*)`", text):
            value = "".join(literal)
            if re.search(r"[A-Za-zÄÖÜäöüß]{3,} [A-Za-zÄÖÜäöüß]{3,} [A-Za-zÄÖÜäöüß]{3,}", value):
                offenders.append(f"{path.name}: {value[:60]}")
    assert not offenders, offenders
