"""A tiny word-level tokenizer built in a temporary folder, two chat templates for it (one with
`{% generation %}` blocks, one without) and a conversation whose counts are worked out by hand.
Offline: nothing is downloaded."""

from __future__ import annotations

from pathlib import Path

GEN_TEMPLATE = (
    "{% for m in messages %}<|{{ m['role'] }}|>"
    "{% if m['role'] == 'assistant' %}{% generation %}{{ m['content'] }} <|end|>{% endgeneration %}"
    "{% else %}{{ m['content'] }} <|end|>{% endif %}{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>{% endif %}"
)
PLAIN_TEMPLATE = GEN_TEMPLATE.replace("{% generation %}", "").replace("{% endgeneration %}", "")


def make_tokenizer(folder: Path, template: str | None) -> Path:
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    specials = ["<unk>", "<|user|>", "<|assistant|>", "<|system|>", "<|end|>"]
    tok = Tokenizer(models.WordLevel(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    corpus = ["hello world how are you", "good day to you too", "the cat sat on the mat"]
    tok.train_from_iterator(corpus, trainers.WordLevelTrainer(special_tokens=specials))
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="<unk>",
                                   additional_special_tokens=specials[1:])
    if template is not None:
        fast.chat_template = template
    fast.save_pretrained(str(folder))
    return folder


CHAT = {"messages": [
    {"role": "system", "content": "the cat"},
    {"role": "user", "content": "hello world"},
    {"role": "assistant", "content": "good day to you"},
    {"role": "user", "content": "how are you"},
    {"role": "assistant", "content": "good"},
]}
# Rendered: <|system|> the cat <|end|> <|user|> hello world <|end|> <|assistant|> good day to you
# <|end|> <|user|> how are you <|end|> <|assistant|> good <|end|>  -> 4 + 4 + 6 + 5 + 3 = 22 tokens.
# Assistant turns (content + <|end|>): 5 + 2 = 7.
