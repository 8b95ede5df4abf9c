"""Long fuzz run over every parser: FASTA, BED/narrowPeak, VCF, GTF/GFF, gene table, BEDPE,
track list, MEME and model folder readers.

Runs the hypothesis property tests of ``tests/io/test_parser_properties_sequences.py``,
``tests/io/test_parser_properties_annotations.py``,
``tests/io/test_parser_properties_motifs_tracks.py`` and ``tests/models/test_store_faults.py``
over and over (a fresh random seed each round) until ``--seconds`` have passed, then prints
one JSON line: the examples tried per test, the total, and any failures (a failure is an
exception other than a one-line DnalensError naming the file, or a harmless re-encoding
read to different values). Not collected by pytest; CI need not run it::

    .venv/bin/python benchmarks/fuzz_parsers.py --seconds 120 --examples 200
"""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import os
import sys
import tempfile
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _fixtures(folder: Path) -> dict[str, object]:
    """What the tests' module fixtures give: a genome, a bigWig, a saved model."""
    import torch

    from dnalens.io.genome import Genome
    from dnalens.io.tracks import write_bigwig
    from dnalens.models import build_model, save_model

    fasta = folder / "genome.fa"
    fasta.write_text(">chr1\n" + "ACGT" * 250 + "\n>chr2\n" + "ACGT" * 125 + "\n")
    torch.manual_seed(0)
    return {
        "genome": Genome(fasta),
        "bigwig": write_bigwig(folder / "cov.bw", {"chr1": 100}, [("chr1", [0], [10], [1.0])]),
        "saved": save_model(build_model("mlp", input_length=40, n_tasks=3, hidden_sizes=[8]),
                            folder / "base", tasks=["a", "b", "c"]),
    }


def _parametrized(fn: object) -> list[tuple[str, dict]]:
    """("[value]", {argument: value}) per pytest.mark.parametrize case (one argument)."""
    for mark in getattr(fn, "pytestmark", []):
        if mark.name == "parametrize":
            argument, values = mark.args
            return [(f"[{value}]", {argument: value}) for value in values]
    return [("", {})]


def _property_tests(modules: list) -> list[tuple[str, object, list[str], dict]]:
    found = []
    for module in modules:
        for name in dir(module):
            fn = getattr(module, name)
            if name.startswith("test_") and hasattr(fn, "hypothesis"):
                code = fn.hypothesis.inner_test.__code__
                arguments = code.co_varnames[: code.co_argcount]  # not its local names
                needs = [a for a in ("genome", "bigwig", "saved") if a in arguments]
                for label, params in _parametrized(fn):
                    found.append((f"{module.__name__}.{name}{label}", fn, needs, params))
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=120.0)
    parser.add_argument("--examples", type=int, default=200, help="examples per test call")
    args = parser.parse_args()
    logging.disable(logging.WARNING)  # renamed chromosomes, trans pairs: expected, not news
    os.environ["DNALENS_FUZZ_EXAMPLES"] = str(args.examples)  # read when the tests import
    sys.path[:0] = [str(ROOT / "tests" / "io"), str(ROOT / "tests" / "models")]
    modules = [importlib.import_module(m) for m in (
        "test_parser_properties_sequences", "test_parser_properties_annotations",
        "test_parser_properties_motifs_tracks", "test_store_faults")]
    failures: list[dict[str, str]] = []
    rounds = 0
    with tempfile.TemporaryDirectory() as folder:
        fixtures = _fixtures(Path(folder))
        tests = _property_tests(modules)
        end = time.monotonic() + args.seconds
        while time.monotonic() < end:
            rounds += 1
            for name, fn, needs, params in tests:
                if time.monotonic() >= end:
                    break
                try:
                    fn(**{k: fixtures[k] for k in needs}, **params)
                except Exception as err:  # report every failure and keep fuzzing
                    failures.append({"test": name, "error": f"{type(err).__name__}: {err}"[:2000]})
                    print(traceback.format_exc()[-3000:], file=sys.stderr)
    counts: dict[str, int] = {}
    for module in modules:
        counts.update(module.CASES)
    print(json.dumps({"figure": "fuzz_parsers", "seconds": args.seconds, "rounds": rounds,
                      "cases": sum(counts.values()), "per_test": counts,
                      "failures": failures}))
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
