"""Validation: stable issue codes, target profiles, rules, and the file engine."""

from curator.validate.codes import CODES, Code
from curator.validate.engine import FileReport, validate_file
from curator.validate.profiles import PROFILES, Profile, get_profile

__all__ = ["CODES", "PROFILES", "Code", "FileReport", "Profile", "get_profile", "validate_file"]
