#!/usr/bin/env python3
# Sums the instructions (summary lines) of callgrind output files and the calls of every
# function whose name contains ARGV[1]; prints "instructions calls" (bench/nats-profile.sh).
#   callgrind-count.py NAME FILE...
import re, sys
fn, total, calls = sys.argv[1], 0, 0
for path in sys.argv[2:]:
    names, cur = {}, None
    for line in open(path, errors="replace"):
        if line.startswith("summary:"):
            total += int(line.split()[1])
        m = re.match(r"(c?fn)=\((\d+)\)(?: (.*))?", line)
        if m:
            if m.group(3):
                names[m.group(2)] = m.group(3)
            if m.group(1) == "cfn":
                cur = names.get(m.group(2), "")
        elif line.startswith("calls=") and cur and fn in cur:
            calls += int(line[6:].split()[0])
print(total, calls)
