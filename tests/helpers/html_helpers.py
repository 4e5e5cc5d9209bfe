"""Reading the HTML page `curator report --html` writes, with the standard library's parser."""

from __future__ import annotations

from html.parser import HTMLParser


class Page(HTMLParser):
    """Every element with its attributes, the text inside each section, and the elements of each."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str], str | None]] = []  # tag, attrs, section
        self.text: dict[str | None, list[str]] = {}
        self._section: str | None = None
        self.feed(text)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "section":
            self._section = a.get("id")
        self.elements.append((tag, a, self._section))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        if tag == "section":
            self._section = None

    def handle_data(self, data: str) -> None:
        self.text.setdefault(self._section, []).append(data)

    def tags(self, tag: str, section: str | None = None, cls: str | None = None
             ) -> list[dict[str, str]]:
        return [a for t, a, s in self.elements if t == tag and (section is None or s == section)
                and (cls is None or cls in a.get("class", "").split())]

    def section_text(self, section: str) -> str:
        return "".join(self.text.get(section, []))
