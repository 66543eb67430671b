"""Immutable tag rules: regular expressions a tag is matched against (whole tag) before a push may move it or a
delete remove it.

Rules are evaluated on every push, so a rule that can backtrack catastrophically would let one repository admin
stall the server: nested repetition (`(a+)+`) and alternation under repetition (`(a|ab)*`) are refused.
"""

from __future__ import annotations

import importlib
import json
import re
from collections.abc import Iterable, Sequence
from typing import Any

MAX_RULES = 100
MAX_RULE_LENGTH = 255

# The stdlib's regular-expression parser, for inspecting a rule's structure (typeshed ships no stub for it).
_parser: Any = importlib.import_module("re._parser")
_REPEATS = {"MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"}


class InvalidRule(ValueError):
    pass


def _walk(pattern: Any, inside_repeat: bool) -> None:
    for op, argument in pattern:
        name = str(op)
        if name in _REPEATS:
            _low, high, sub = argument
            unbounded_or_many = high is _parser.MAXREPEAT or high > 1
            if inside_repeat and unbounded_or_many:
                raise InvalidRule("nested repetition is not allowed")
            _walk(sub, inside_repeat or unbounded_or_many)
        elif name == "BRANCH":
            if inside_repeat:
                raise InvalidRule("alternation inside a repetition is not allowed")
            for branch in argument[1]:
                _walk(branch, inside_repeat)
        elif name == "SUBPATTERN":
            _walk(argument[-1], inside_repeat)
        elif name in ("ASSERT", "ASSERT_NOT"):
            _walk(argument[1], inside_repeat)
        elif name == "ATOMIC_GROUP":
            _walk(argument, inside_repeat)
        elif name == "GROUPREF_EXISTS":
            raise InvalidRule("conditional groups are not allowed")


def validate_rule(rule: str) -> str:
    """The rule, if it is a usable regular expression; InvalidRule (with a reason) otherwise."""
    if not rule or len(rule) > MAX_RULE_LENGTH:
        raise InvalidRule(f"rules are 1 to {MAX_RULE_LENGTH} characters")
    try:
        re.compile(rule)
        parsed = _parser.parse(rule)
    except (re.error, RecursionError, OverflowError) as exc:
        raise InvalidRule(f"invalid regular expression: {exc}") from exc
    _walk(parsed, False)
    return rule


def validate_rules(rules: Sequence[str]) -> list[str]:
    if len(rules) > MAX_RULES:
        raise InvalidRule(f"at most {MAX_RULES} rules")
    return list(dict.fromkeys(validate_rule(rule) for rule in rules))


def load_rules(stored: str | None) -> list[str]:
    """Rules as stored on the repository (a JSON list); anything unreadable counts as no rules."""
    try:
        value = json.loads(stored or "[]")
    except json.JSONDecodeError:
        return []
    return [rule for rule in value if isinstance(rule, str)] if isinstance(value, list) else []


def active_rules(enabled: bool, stored: str | None) -> list[str]:
    """The rules in force: none while the repository has immutable tags switched off."""
    return load_rules(stored) if enabled else []


def immutable_tags(tags: Iterable[str], rules: Sequence[str]) -> list[str]:
    """The tags among `tags` that the rules protect (they may not move, nor be deleted)."""
    return [tag for tag in tags if matching_rule(tag, rules) is not None] if rules else []


def dump_rules(rules: Iterable[str]) -> str:
    return json.dumps(list(rules))


def matching_rule(tag: str, rules: Iterable[str]) -> str | None:
    """The first rule that matches the whole tag, or None."""
    for rule in rules:
        try:
            if re.fullmatch(rule, tag):
                return rule
        except re.error:
            continue
    return None
