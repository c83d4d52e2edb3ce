#!/usr/bin/env bash
# The command line as a new user meets it: help, version, errors, refusing to overwrite,
# stats, cat, info.
. "$(dirname "$0")/lib.sh"
check version "$PARROT" --version
for c in "corpus build" "corpus stats" "corpus cat" "info" "demo"; do
    check "help_${c// /_}" $PARROT $c --help
done
check_fails no_command_is_usage_error "usage" "$PARROT"
"$PARROT" corpus build --bogus >/dev/null 2>&1; [ $? -eq 2 ] && ok unknown_option_exit_2 || fail unknown_option_exit_2
check_fails missing_out "missing -o DIR" "$PARROT" corpus build "$DATA/cpython/Lib"
check_fails missing_input "cannot read input" "$PARROT" corpus build -o "$T/x" "$T/nonexistent"
[ ! -e "$T/x" ] && ok failed_build_leaves_nothing || fail failed_build_leaves_nothing
check_fails unknown_input_kind "unknown kind of input" "$PARROT" corpus build -o "$T/x" "$DATA/cpython/LICENSE.txt"
check_fails bad_threshold "near-threshold" "$PARROT" corpus build -o "$T/x" --near-threshold 1.5 "$DATA/cpython/Lib"
check build "$PARROT" corpus build -q -o "$T/c" "$DATA/cpython/Lib"
ls "$T/c" > "$T/ls.txt"
grep -q '^manifest.json$' "$T/ls.txt" && grep -q '^train-00000.pds$' "$T/ls.txt" && ! grep -q tmp "$T/ls.txt" \
    && ok output_layout || fail output_layout "$(cat "$T/ls.txt")"
check_fails exists_refused "already exists.*--force" "$PARROT" corpus build -o "$T/c" "$DATA/cpython/Lib"
check force_replaces "$PARROT" corpus build -q --force -o "$T/c" --no-near-dedup "$DATA/cpython/Lib"
grep -q '"enabled":false' "$T/c/manifest.json" && ok force_replaced_content || fail force_replaced_content
ls -d "$T"/c.* 2>/dev/null && fail no_leftovers || ok no_leftovers
check stats_table "$PARROT" corpus stats "$T/c"
"$PARROT" corpus stats "$T/c" | grep -q "exact_dedup" && ok stats_names_steps || fail stats_names_steps
"$PARROT" corpus stats --json "$T/c" | "$PYTHON" -c 'import json,sys; m=json.load(sys.stdin); assert m["format"]=="parrot-corpus"' \
    && ok stats_json || fail stats_json
check_fails stats_not_corpus "not a parrot corpus" "$PARROT" corpus stats "$DATA"
# cat: valid JSON Lines with the dump's field names; train + valid = all; the content is the file's bytes
"$PARROT" corpus cat "$T/c" --split all > "$T/all.jsonl"
"$PYTHON" - "$T/all.jsonl" "$DATA/cpython/Lib" <<'PY' && ok cat_fields_and_content || fail cat_fields_and_content
import json, sys, os
n = 0
for l in open(sys.argv[1]):
    d = json.loads(l)
    assert set(["repo_name", "path", "content", "size", "license", "copies"]) <= set(d), d.keys()
    assert d["repo_name"] == "Lib"
    assert open(os.path.join(sys.argv[2], d["path"]), encoding="utf-8", newline="").read() == d["content"]
    assert d["size"] == str(len(d["content"].encode()))
    n += 1
assert n > 5
PY
a=$(wc -l < "$T/all.jsonl"); tr=$("$PARROT" corpus cat "$T/c" | wc -l); va=$("$PARROT" corpus cat "$T/c" --split valid | wc -l)
[ "$a" -eq $((tr + va)) ] && ok cat_splits_add_up || fail cat_splits_add_up "$a != $tr + $va"
[ "$("$PARROT" corpus cat "$T/c" --limit 2 | wc -l)" -eq 2 ] && ok cat_limit || fail cat_limit
check cat_to_file "$PARROT" corpus cat "$T/c" -o "$T/out.jsonl"
check info_dir "$PARROT" info "$T/c"
"$PARROT" info "$T/c/train-00000.pds" | grep -qi "documents" && ok info_shard || fail info_shard
check_fails info_unknown "not a parrot" "$PARROT" info "$DATA/cpython/LICENSE.txt"
# the manifest records provenance: version, command line, inputs with sizes and hashes
"$PYTHON" - "$T/c/manifest.json" <<'PY' && ok provenance || fail provenance
import json, sys
m = json.load(open(sys.argv[1]))
assert m["parrot_version"] and "corpus build" in m["command"]
i = m["inputs"][0]
assert i["kind"] == "directory" and i["size"] > 100000 and i["hash"].startswith("pt128:") and i["docs"] > 10
assert m["resources"]["peak_rss_bytes"] > 0
PY
