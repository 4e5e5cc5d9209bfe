"""The smoke-test trainer behind `curator train`: does this data train, and does the tuned model
beat the base model on data it never saw?

`recipe.run` is the whole recipe in one readable script (setup, pre-flight, baseline, train,
evaluate, save, report). The modules beside it are its parts: `config` (options and the YAML
file), `data` (the three splits), `models` (resolving and loading a model), `chat` (rendering and
the loss mask), `evaluate` (loss, perplexity, accuracy, generations).

Only this package imports torch, and only `models`, `evaluate` and `recipe` do so at import time;
`config` and `data` stay light so the CLI can parse and check input before torch loads.
"""
