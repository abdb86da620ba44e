"""What a person reads on a page: its text, without tags, attributes, scripts or styles. Tests
use it to check that no raw JSON or Python repr reaches a reader (attributes may hold JSON
for scripts; that is not read)."""

from __future__ import annotations

from html.parser import HTMLParser


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style", "template"):
            self._skip += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "template") and self._skip:
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def visible_text(html: str) -> str:
    parser = _Text()
    parser.feed(html)
    return " ".join(" ".join(parser.parts).split())


def raw_structures(html: str) -> list[str]:
    """Fragments of the readable text that look like a JSON object or a Python dict/list repr."""
    text = visible_text(html)
    return [marker for marker in ('{"', "{'", "['", '["', "[{", "': ", '": ') if marker in text]
