"""`vaccine check` (not written yet)."""

from __future__ import annotations

import argparse

from ..errors import VaccineError


def register(parser: argparse.ArgumentParser) -> None:
    pass


def main(args: argparse.Namespace) -> int:
    raise VaccineError("not implemented yet")
