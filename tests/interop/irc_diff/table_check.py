#!/usr/bin/env python3
"""Checks the conformance table of the chat server (docs/CONFORMANCE.md) so it cannot rot:

  - every row of a table with a "Status" and a "Test" column has a status among
    conforms / differs-accepted / to-fix / not implemented and names at least one test;
  - every test it names exists: `irc_diff:NAME` a session of tests/interop/irc_diff/sessions/*.irc,
    `Suite.Name` a TEST/TEST_F/TEST_P(Suite, Name) in tests/**/*.cpp, `interop.NAME` a script
    tests/interop/NAME.sh;
  - the "Rows: N (conforms a, differs-accepted b, to-fix c, not implemented d)" line of the
    document gives the counts of the table.

  table_check.py [--doc FILE] [--root DIR]    exit 0 when all holds, 1 with one line per fault
Run first by tests/interop/irc_diff.sh (ctest interop.irc_diff), before any server starts.
Python 3 standard library only.
"""
import argparse
import glob
import os
import re
import sys

STATUSES = ("conforms", "differs-accepted", "to-fix", "not implemented")
REF = re.compile(r"`([^`]+)`")


def known_tests(root):
    sessions = set()
    for path in glob.glob(os.path.join(root, "tests/interop/irc_diff/sessions/*.irc")):
        for line in open(path, encoding="utf-8"):
            m = re.match(r"^== (\S+):", line)
            if m:
                sessions.add(m.group(1))
    gtests = set()
    for path in glob.glob(os.path.join(root, "tests/**/*.cpp"), recursive=True):
        text = open(path, encoding="utf-8", errors="replace").read()
        for m in re.finditer(r"\bTEST(?:_F|_P)?\(\s*(\w+)\s*,\s*(\w+)\s*\)", text):
            gtests.add(f"{m.group(1)}.{m.group(2)}")
    return sessions, gtests


def cells(line):
    """The cells of a table row; "\\|" is a "|" inside a cell, as in GitHub's tables."""
    return [c.strip().replace("\\|", "|") for c in re.split(r"(?<!\\)\|", line.strip().strip("|"))]


def check(doc, root):
    sessions, gtests = known_tests(root)
    faults, counts, rows = [], {s: 0 for s in STATUSES}, 0
    header, claimed = None, None
    for n, line in enumerate(open(doc, encoding="utf-8"), 1):
        where = f"{os.path.basename(doc)}:{n}"
        m = re.match(r"^Rows: (\d+) \(conforms (\d+), differs-accepted (\d+), to-fix (\d+), "
                     r"not implemented (\d+)\)", line)
        if m:
            claimed = (where, [int(x) for x in m.groups()])
        if not line.startswith("|"):
            header = None
            continue
        row = cells(line)
        if header is None:
            header = row
            continue
        if all(re.fullmatch(r":?-+:?", c) for c in row):
            continue
        if "Status" not in header or "Test" not in header:
            continue
        if len(row) != len(header):
            faults.append(f"{where}: {len(row)} cells, the header has {len(header)}")
            continue
        rows += 1
        status = row[header.index("Status")]
        if status not in STATUSES:
            faults.append(f"{where}: status '{status}' is none of {', '.join(STATUSES)}")
        else:
            counts[status] += 1
        refs = REF.findall(row[header.index("Test")])
        if not refs:
            faults.append(f"{where}: no test named")
        for ref in refs:
            if ref.startswith("irc_diff:"):
                ok = ref[len("irc_diff:"):] in sessions
            elif ref.startswith("interop."):
                ok = os.path.exists(os.path.join(root, "tests/interop", ref[len("interop."):] + ".sh"))
            elif re.fullmatch(r"\w+\.\w+", ref):
                ok = ref in gtests
            else:
                faults.append(f"{where}: '{ref}' is not irc_diff:SESSION, Suite.Name or interop.NAME")
                continue
            if not ok:
                faults.append(f"{where}: test '{ref}' does not exist")
    got = [rows] + [counts[s] for s in STATUSES]
    if claimed is None:
        faults.append(f"{os.path.basename(doc)}: no 'Rows: N (conforms a, differs-accepted b, to-fix c, "
                      f"not implemented d)' line")
    elif claimed[1] != got:
        faults.append(f"{claimed[0]}: the Rows line says {claimed[1]}, the table has {got}")
    if rows == 0:
        faults.append(f"{os.path.basename(doc)}: no table with Status and Test columns")
    return faults, got


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", default=os.path.normpath(os.path.join(here, "../../..")))
    ap.add_argument("--doc", default=None)
    args = ap.parse_args()
    doc = args.doc or os.path.join(args.root, "docs/CONFORMANCE.md")
    if not os.path.exists(doc):
        print(f"table_check: {doc}: no such file", file=sys.stderr)
        return 1
    faults, got = check(doc, args.root)
    for f in faults:
        print(f"table_check: {f}", file=sys.stderr)
    print(f"# conformance table: {got[0]} rows (conforms {got[1]}, differs-accepted {got[2]}, "
          f"to-fix {got[3]}, not implemented {got[4]}), {'OK' if not faults else f'{len(faults)} faults'}")
    return 1 if faults else 0


if __name__ == "__main__":
    sys.exit(main())
