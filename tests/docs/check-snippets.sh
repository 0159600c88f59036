#!/usr/bin/env bash
# Compiles every ```cpp block of a Markdown file, so that the documentation's code cannot rot.
#   check-snippets.sh DOC.md PRELUDE_DIR CXX [COMPILER FLAGS...]
# A block is compiled as it stands (a whole program, or at least a whole translation unit),
# unless a marker comment on the lines before its fence says it is a fragment:
#   <!-- fragment -->             the block is put after fragment_prelude.hpp, at namespace scope
#   <!-- fragment: SIGNATURE -->  ... and inside `SIGNATURE { ... }`, e.g. `void f(roost::router& r)`
# Compiler messages point at the Markdown file's own lines (#line). Prints PASS/FAIL per block
# and exits 1 if any block does not compile, or if the file has none.
set -uo pipefail
doc=$1 prelude_dir=$2 cxx=$3
shift 3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# One file per block, blockNN.cpp; blockNN.where holds "LINE fragment|program".
awk -v dir="$work" -v docname="$doc" '
  function reset() { frag = 0; sig = "" }
  !inblock && /^<!-- fragment(: .*)? -->[[:space:]]*$/ {
    frag = 1; sig = $0
    sub(/^<!-- fragment:? ?/, "", sig); sub(/[[:space:]]*-->[[:space:]]*$/, "", sig)
    next
  }
  !inblock && /^```cpp[[:space:]]*$/ {
    n++; inblock = 1
    f = sprintf("%s/block%02d.cpp", dir, n)
    printf "%d %s\n", NR, (frag ? "fragment" : "program") > sprintf("%s/block%02d.where", dir, n)
    if (frag) {
      print "#include \"fragment_prelude.hpp\"" > f
      if (sig != "") print sig " {" > f
    }
    printf "#line %d \"%s\"\n", NR + 1, docname > f
    next
  }
  inblock && /^```[[:space:]]*$/ {
    if (frag && sig != "") print "}" > f
    close(f); inblock = 0; reset(); next
  }
  inblock { print > f; next }
  /[^[:space:]]/ { reset() }
' "$doc"

blocks=("$work"/block*.cpp)
if [ ! -e "${blocks[0]}" ]; then
  echo "FAIL $doc has no C++ block"
  exit 1
fi
passed=0 failed=0
for b in "${blocks[@]}"; do
  read -r line kind <"${b%.cpp}.where"
  if "$cxx" -std=c++20 -fsyntax-only -I "$prelude_dir" "$@" -x c++ "$b" >"$b.log" 2>&1; then
    passed=$((passed + 1)); echo "PASS $doc:$line ($kind)"
  else
    failed=$((failed + 1)); echo "FAIL $doc:$line ($kind) does not compile:"
    grep -E 'error|note: ' "$b.log" | head -20 | sed 's/^/    /'
  fi
done
echo "$doc: $passed blocks compile, $failed do not"
[ "$failed" -eq 0 ]
