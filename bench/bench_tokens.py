"""Throughput of exact token counters on the same texts, each checked against tiktoken.

Texts are the message contents of a chat JSONL file (made by gen_chat.py when none is given),
plus hard cases (long whitespace runs, CJK, emoji, text that looks like special tokens).
Candidates that are not installed are listed as such. A candidate is "exact" only when its
count equals len(tiktoken encode_ordinary) for every text.

    python bench/bench_tokens.py --n 20000 --encoding o200k_base
    python bench/bench_tokens.py --file data.jsonl
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from curator.tokens import get_encoding

HARD_CASES = [
    "",
    " " * 5000,
    "a" + " " * 3000 + "b",
    "\n" * 2000 + "x",
    "机器学习是人工智能的一个分支。" * 200,
    "🙂🚀👍🏽🇫🇷" * 300,
    "<|endoftext|> hello <|im_start|>user<|im_end|> <|endofprompt|>",
    "x" * 20000,
    "1234567890" * 500,
    "Zürich café naïve façade — “quoted” ‘text’ …" * 50,
]


def load_texts(path: Path, limit: int) -> list[str]:
    texts: list[str] = []
    with path.open("rb") as fh:
        for line in fh:
            obj = orjson.loads(line)
            for m in obj.get("messages", []):
                c = m.get("content")
                if isinstance(c, str):
                    texts.append(c)
            if len(texts) >= limit:
                break
    return texts


def candidates(encoding: str) -> dict[str, Callable[[str], int] | str]:
    out: dict[str, Callable[[str], int] | str] = {}
    enc = get_encoding(encoding)
    out["tiktoken encode_ordinary"] = lambda t: len(enc.encode_ordinary(t))
    try:
        from bpe_openai import _bindings

        tok = _bindings.tokenizer_for_encoding(encoding)
        out["bpe-openai count (Rust)"] = tok.count
        out["bpe-openai encode (Rust)"] = lambda t: len(tok.encode(t))
    except ImportError as exc:
        out["bpe-openai"] = f"not installed ({exc})"
    try:
        from rs_bpe.bpe import openai as rs_openai

        rs = rs_openai.o200k_base() if encoding == "o200k_base" else rs_openai.cl100k_base()
        out["rs-bpe count"] = rs.count
    except ImportError as exc:
        out["rs-bpe"] = f"not installed ({exc})"
    try:
        import kitoken

        from curator.tokens import _tiktoken_file

        kt = kitoken.Kitoken.from_tiktoken_file(str(_tiktoken_file(encoding)))
        out["kitoken encode"] = lambda t: len(kt.encode(t))
    except ImportError as exc:
        out["kitoken"] = f"not installed ({exc})"
    # The cached counter curator uses (exact fast path + per-string cache for repeated texts).
    from curator.tokens import TiktokenCounter

    counter = TiktokenCounter(encoding)
    out["curator counter (count_text)"] = counter.count_text
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--file", type=Path, help="chat JSONL to take texts from")
    parser.add_argument("--n", type=int, default=20000, help="examples to generate when no --file")
    parser.add_argument("--max-texts", type=int, default=200_000)
    parser.add_argument("--encoding", default="o200k_base", choices=("o200k_base", "cl100k_base"))
    args = parser.parse_args(argv)

    if args.file is None:
        from gen_chat import generate  # type: ignore[import-not-found]

        tmp = Path(tempfile.mkdtemp()) / "chat.jsonl"
        generate(args.n, tmp, seed=0)
        args.file = tmp
    texts = load_texts(args.file, args.max_texts)
    reference_enc = get_encoding(args.encoding)
    reference = [len(reference_enc.encode_ordinary(t)) for t in texts]
    hard_ref = [len(reference_enc.encode_ordinary(t)) for t in HARD_CASES]
    total_tokens = sum(reference)
    print(f"{len(texts)} texts, {total_tokens} tokens ({args.encoding}), from {args.file}\n")
    print("| counter | seconds | M tokens/s | exact on texts | exact on hard cases |")
    print("| --- | ---: | ---: | --- | --- |")
    for name, fn in candidates(args.encoding).items():
        if isinstance(fn, str):
            print(f"| {name} | - | - | {fn} | - |")
            continue
        try:
            hard_ok = [fn(t) for t in HARD_CASES] == hard_ref
        except Exception as exc:  # a candidate that raises is reported, not fatal
            hard_ok = False
            print(f"  ({name} raised on a hard case: {type(exc).__name__}: {exc})", file=sys.stderr)
        t0 = time.perf_counter()
        got = [fn(t) for t in texts]
        dt = time.perf_counter() - t0
        bad = sum(1 for a, b in zip(got, reference, strict=False) if a != b)
        exact = "yes" if bad == 0 else f"NO ({bad} differ)"
        print(f"| {name} | {dt:.2f} | {total_tokens / dt / 1e6:.1f} | {exact} | "
              f"{'yes' if hard_ok else 'NO'} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
