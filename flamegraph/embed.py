#!/usr/bin/env python3
# Turn a text file into a C string constant: embed.py INPUT OUTPUT SYMBOL
import sys

data = open(sys.argv[1], encoding="utf-8").read()
with open(sys.argv[2], "w") as out:
    out.write(f"/* generated from {sys.argv[1].split('/')[-1]} */\n")
    out.write(f"static const char {sys.argv[3]}[] =\n")
    for line in data.splitlines(True):
        esc = line.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
        out.write(f'\t"{esc}"\n')
    out.write(";\n")
