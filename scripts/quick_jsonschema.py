"""jsonschema without rfc3987_syntax: `from quick_jsonschema import jsonschema` (scripts/sheets.py).

jsonschema imports rfc3987_syntax when it is installed (jupyter-events, of the notebooks,
pulls it in through jsonschema[format-nongpl]), and that compiles ~40 grammars on import:
1-3 s of every Snakemake start (each dry run, each test's run, each cluster job, which
parses the workflow again). It checks only the "iri" and "iri-reference" formats, which no
schema here uses; blocked, jsonschema leaves those formats unchecked. A process that has
imported it already keeps it.
"""

import sys

sys.modules.setdefault("rfc3987_syntax", None)

import jsonschema  # noqa: E402

__all__ = ["jsonschema"]
