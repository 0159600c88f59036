#!/usr/bin/env bash
# Compiles every ```cpp block of a Markdown file, so that the documentation's code cannot rot.
#   check-snippets.sh DOC.md PRELUDE_DIR MODULES CXX [COMPILER FLAGS...]
# A block is compiled as it stands (a whole program, or at least a whole translation unit),
# unless a marker comment on the lines before its fence says it is a fragment:
#   <!-- fragment -->             the block is put after fragment_prelude.hpp, at namespace scope
#   <!-- fragment: SIGNATURE -->  ... and inside `SIGNATURE { ... }`, e.g. `void f(roost::router& r)`
# A block that uses an optional module says so on a line of its own before it (and before its
# fragment marker, if any):
#   <!-- needs: auth -->          compiled only when roost::auth is among MODULES
# MODULES is the comma-separated list of the modules this build has (core,codec,auth,...).
# Compiler messages point at the Markdown file's own lines (#line). Prints PASS/FAIL per block
# (SKIP for a block whose module is not built, which is neither) and exits 1 if any block does
# not compile, or if the file has no block to compile.
set -uo pipefail
doc=$1 prelude_dir=$2 modules=",$3," cxx=$4
shift 4
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# One file per block, blockNN.cpp; blockNN.where holds "LINE fragment|program [MODULE]".
awk -v dir="$work" -v docname="$doc" '
  function reset() { frag = 0; sig = ""; needs = "" }
  !inblock && /^<!-- needs: [a-z_]+ -->[[:space:]]*$/ {
    needs = $0
    sub(/^<!-- needs: /, "", needs); sub(/[[:space:]]*-->[[:space:]]*$/, "", needs)
    next
  }
  !inblock && /^<!-- fragment(: .*)? -->[[:space:]]*$/ {
    frag = 1; sig = $0
    sub(/^<!-- fragment:? ?/, "", sig); sub(/[[:space:]]*-->[[:space:]]*$/, "", sig)
    next
  }
  !inblock && /^```cpp[[:space:]]*$/ {
    n++; inblock = 1
    f = sprintf("%s/block%02d.cpp", dir, n)
    printf "%d %s %s\n", NR, (frag ? "fragment" : "program"), needs > sprintf("%s/block%02d.where", dir, n)
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
passed=0 failed=0 skipped=0
for b in "${blocks[@]}"; do
  read -r line kind needs <"${b%.cpp}.where"
  if [ -n "$needs" ] && [[ $modules != *",$needs,"* ]]; then
    skipped=$((skipped + 1)); echo "SKIP $doc:$line ($kind) needs roost::$needs, not built"
    continue
  fi
  if "$cxx" -std=c++20 -fsyntax-only -I "$prelude_dir" "$@" -x c++ "$b" >"$b.log" 2>&1; then
    passed=$((passed + 1)); echo "PASS $doc:$line ($kind)"
  else
    failed=$((failed + 1)); echo "FAIL $doc:$line ($kind) does not compile:"
    grep -E 'error|note: ' "$b.log" | head -20 | sed 's/^/    /'
  fi
done
echo "$doc: $passed blocks compile, $failed do not, $skipped not built"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
