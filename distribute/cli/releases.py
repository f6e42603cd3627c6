"""Placeholder until filled in."""

COMMANDS = []
