"""Shared by the examples: where the scenarios are, where plots go (``--out DIR``)."""

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display needed; the scripts save PNG files

SCENARIOS = Path(__file__).resolve().parents[2] / "data" / "scenarios"


def out_dir(description: str) -> Path:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--out", default=".", help="directory for the plots (default: .)")
    out = Path(parser.parse_args().out)
    out.mkdir(parents=True, exist_ok=True)
    return out
