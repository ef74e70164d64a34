#!/usr/bin/env python3
"""The NEW/BASE table of paired rounds (bench/core-compare.sh, bench/tls-compare.sh).

  paired_summary.py TSV OUT NEW-KEY BASE-KEY NEW-NAME BASE-NAME HEADER [--per-second]

TSV rows are bench/pair.sh --tsv rows: "label|first", A, B, round, A's CPU, B's CPU, A/B, unit,
where `first` is NEW-KEY when NEW ran as A and BASE-KEY when BASE did. Prints, per label in the
order met, the median CPU per unit of each side and NEW/BASE of the CPU per unit (median, min-max,
every round); --per-second adds BASE/NEW, i.e. NEW's units per server CPU-second over BASE's.
OUT (when not empty) gets the same Markdown text.
"""
import statistics
import sys

args = [a for a in sys.argv[1:] if a != "--per-second"]
per_second = len(args) != len(sys.argv) - 1
tsv, out, new_key, base_key, new_name, base_name, header = args[:7]
cells, units = {}, {}
for line in open(tsv):
    f = line.rstrip("\n").split("\t")
    if len(f) < 8:
        continue
    label, first = f[0].rsplit("|", 1)
    a, b = float(f[4]), float(f[5])
    if a <= 0 or b <= 0 or first not in (new_key, base_key):
        continue
    base_cpu, new_cpu = (a, b) if first == base_key else (b, a)
    cells.setdefault(label, []).append((new_cpu / base_cpu, base_cpu, new_cpu))
    units[label] = f[7]
extra_head, extra_rule = (f" {new_name}/{base_name} per CPU-second, median (min–max) |", "---|") if per_second else ("", "")
lines = [header, "",
         f"| cell | {base_name} CPU/unit (median) | {new_name} CPU/unit (median) | {new_name}/{base_name} median | min–max | rounds |{extra_head}",
         f"|---|---|---|---|---|---|{extra_rule}"]
for label, rows in cells.items():
    r = [x[0] for x in rows]
    unit = units[label]
    extra = ""
    if per_second:
        inv = [1 / x for x in r]
        extra = f" **{statistics.median(inv):.3f}** ({min(inv):.3f}–{max(inv):.3f}) |"
    lines.append(f"| {label} | {statistics.median(x[1] for x in rows):.3f} µs/{unit} | "
                 f"{statistics.median(x[2] for x in rows):.3f} µs/{unit} | **{statistics.median(r):.3f}** | "
                 f"{min(r):.3f}–{max(r):.3f} | {', '.join(f'{x:.3f}' for x in r)} |{extra}")
text = "\n".join(lines) + "\n"
sys.stdout.write(text)
if out:
    open(out, "w").write(text)
