"""Detect a row's format and convert it to and from the canonical chat form (OpenAI chat).

SKELETON: interface only.
"""
