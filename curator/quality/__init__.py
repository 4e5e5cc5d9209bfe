"""Signals that find bad answers without a model: answers shared or in conflict across records,
paraphrase clusters (static embeddings), and overlap with evaluation sets (docs/quality.md).

The modules here are pure: they take texts or records and return findings. The commands that
write findings to a workspace (`curator signals`, `curator dedup --semantic`,
`curator decontaminate`) put them on records as labels through `Workspace.flag_records`.
"""
