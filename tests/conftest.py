"""Fixtures shared by every test package: real servers on 127.0.0.1, ephemeral ports."""

from __future__ import annotations
