"""A message's content as text: the one rule for every reader of content parts.

Content is a string, None, or a list of parts (OpenAI chat: `{"type": "text", "text": ...}`,
`{"type": "refusal", "refusal": ...}`, `{"type": "image_url", "image_url": {"url": ...}}`).
`parts` reads either dicts or the pydantic parts of `curator.schema`; `content_text` joins
them with `PART_SEP` (nothing), the way chat templates and the converters join text parts, so
the text dedup compares is the text a model trains on. Callers choose what happens to images
and to parts that are not text: the review app shows them as JSON, one part per line
(presentation), dedup writes an image as `<image URL>` and skips the rest, the converters and
the trainer refuse them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

#: how text parts are joined: nothing, as chat templates and the converters join them
PART_SEP = ""

PartKind = Literal["text", "refusal", "image", "other"]


@dataclass(frozen=True, slots=True)
class Part:
    """One content part: `text` is the text of a text or refusal part, an image's URL, and
    None for any other part. `type` is the part's own `type` (the class name of a part that
    is not an object), for messages; `raw` is the part as given."""

    kind: PartKind
    text: str | None
    type: str | None
    raw: Any


class ContentError(ValueError):
    """A part the caller refused (`images="error"` or `others="error"`)."""

    def __init__(self, part: Part, index: int | None) -> None:
        where = "the content" if index is None else f"content part {index}"
        super().__init__(f"{where} is a {part.type!r} part")
        self.part = part
        self.index = index  # None: the content itself is neither a string nor a list


def _field(part: Any, name: str) -> Any:
    return part.get(name) if isinstance(part, Mapping) else getattr(part, name, None)


def _part(raw: Any) -> Part:
    if not isinstance(raw, Mapping) and not hasattr(raw, "type"):
        return Part("other", None, type(raw).__name__, raw)
    kind = _field(raw, "type")
    if kind is None and isinstance(raw, Mapping):  # an untyped part: named by its one field
        kind = next((k for k in ("text", "refusal", "image_url") if k in raw), None)
    if kind in ("text", "refusal"):
        value = _field(raw, kind)
        if isinstance(value, str):
            return Part(kind, value, kind, raw)
    elif kind == "image_url":
        image = _field(raw, "image_url")
        url = _field(image, "url") if isinstance(image, Mapping) or hasattr(image, "url") else image
        return Part("image", url if isinstance(url, str) else str(url or ""), kind, raw)
    return Part("other", None, kind if isinstance(kind, str) else None, raw)


def parts(content: Any) -> list[Part]:
    """The parts of a message's content (dicts or pydantic parts); a string is one text part,
    None none; anything else one "other" part."""
    if content is None:
        return []
    if isinstance(content, str):
        return [Part("text", content, "text", content)]
    if isinstance(content, list):
        return [_part(p) for p in content]
    return [Part("other", None, type(content).__name__, content)]


def _json(value: Any) -> str:
    import orjson

    try:
        return orjson.dumps(value, option=orjson.OPT_INDENT_2).decode()
    except TypeError:
        return repr(value)


def content_text(
    content: Any,
    *,
    images: Literal["tag", "json", "error"] = "tag",
    others: Literal["json", "skip", "error"] = "json",
    refusals: Literal["text", "error"] = "text",
    sep: str = PART_SEP,
) -> str:
    """The text of a message's content: text and refusal parts as their text, joined by `sep`.

    `images`: "tag" writes `<image URL>`, "json" the part as JSON, "error" raises ContentError.
    `others` (parts that are neither text nor images, and content that is neither a string nor
    a list): "json" writes them as JSON (indented), "skip" leaves them out, "error" raises.
    `refusals="error"` refuses refusal parts too (a format that cannot mark them)."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        if others == "error":
            raise ContentError(parts(content)[0], None)
        return "" if others == "skip" else _json(content)
    out: list[str] = []
    for i, part in enumerate(parts(content)):
        if part.kind == "text" or (part.kind == "refusal" and refusals == "text"):
            assert part.text is not None
            out.append(part.text)
        elif part.kind == "image" and images != "error":
            out.append(f"<image {part.text}>" if images == "tag" else _json(part.raw))
        elif part.kind == "other" and others != "error":
            if others == "json":
                out.append(_json(part.raw))
        else:
            raise ContentError(part, i)
    return sep.join(out)
