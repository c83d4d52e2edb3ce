#!/usr/bin/env bash
# `parrot pack`: the corpus built from tests/data/cpython/Lib packed with GPT-2's tokenizer; --dump of
# each split equals `parrot tokenizer encode` of every document of `parrot corpus cat`, in order, each
# followed by 50256; 1 and 2 threads and small shards give the same stream; chars per token sane;
# --inspect's content ids equal for the same data packed again, another for other shards;
# an existing output refused without --force; damaged and truncated shards rejected with messages
# naming the file; a tokenizer without <|endoftext|> refused.
. "$(dirname "$0")/lib.sh"
[ -x "$PARROT" ] || { fail pack "$PARROT not built"; exit 0; }
G="$DATA/gpt2"

"$PARROT" corpus build -q -o "$T/c" --valid-fraction 0.25 "$DATA/cpython/Lib" > /dev/null 2> "$T/build.err" ||
    { fail pack_corpus "corpus build failed: $(tail -3 "$T/build.err")"; exit 0; }
check pack_run "$PARROT" pack -q --corpus "$T/c" --tokenizer "$G" -o "$T/d" --threads 2

# the expected stream of a split: encode each document of corpus cat, then 50256
want() {
    "$PARROT" corpus cat "$T/c" --split "$1" > "$T/$1.jsonl" &&
    "$PARROT" tokenizer encode -q -t "$G" --jsonl "$T/$1.jsonl" -o "$T/$1.ids.jsonl" &&
    "$PYTHON" -c '
import json, sys
out = []
for line in open(sys.argv[1]):
    out.extend(json.loads(line)["ids"]); out.append(50256)
sys.stdout.write("".join("%d\n" % i for i in out))' "$T/$1.ids.jsonl" > "$T/$1.want"
}
for s in train valid; do
    check "pack_want_$s" want "$s"
    check "pack_dump_$s" sh -c "$PARROT pack --dump $T/d --split $s > $T/$s.got && cmp $T/$s.got $T/$s.want"
done
check pack_valid_nonempty test -s "$T/valid.want"
check pack_dump_limit bash -c "$PARROT pack --dump $T/d --limit 7 | cmp - <(head -7 $T/train.want)"

# one thread and small shards: the same stream, several shards
check pack_small_shards "$PARROT" pack -q --corpus "$T/c" --tokenizer "$G" -o "$T/d1" --threads 1 --shard-tokens 20000
check pack_small_shards_same sh -c "$PARROT pack --dump $T/d1 > $T/d1.got && cmp $T/d1.got $T/train.want"
check pack_small_shards_many test -f "$T/d1/train-00002.tok"

# manifest and inspect: counts agree, chars per token sane for GPT-2 on Python (2..5)
check pack_manifest "$PYTHON" -c '
import json, sys
m = json.load(open(sys.argv[1] + "/manifest.json"))
assert m["format"] == "parrot-data" and m["format_version"] == 1, m
t = m["splits"]["train"]
n = sum(1 for _ in open(sys.argv[2]))
assert t["tokens"] == n, (t["tokens"], n)
assert 2.0 < t["chars_per_token"] < 5.0, t
assert m["tokenizer"]["eot_id"] == 50256 and m["tokenizer"]["token_bytes"] == 2, m
assert len(m["corpus"]["manifest_hash"]) == 32' "$T/d" "$T/train.want"
check pack_tokenizer_copy cmp <("$PARROT" tokenizer encode -q -t "$T/d/tokenizer.json" "$T/train.jsonl") \
    <("$PARROT" tokenizer encode -q -t "$G" "$T/train.jsonl")
check pack_inspect sh -c "$PARROT pack --inspect $T/d | grep -q 'train: [0-9]* tokens, [0-9]* documents, vocabulary 50257, end-of-text 50256'"
check pack_inspect_content sh -c "$PARROT pack --inspect $T/d | grep -qE 'tokenizer [0-9a-f]{32}, content [0-9a-f]{32}$'"
check pack_inspect_json sh -c "$PARROT pack --inspect $T/d --json | $PYTHON -c 'import json,sys; d=json.load(sys.stdin); assert d[\"splits\"][\"train\"][\"shards\"][0][\"token_bytes\"]==2'"

# refusals
check_fails pack_exists "already exists.*--force" "$PARROT" pack -q --corpus "$T/c" --tokenizer "$G" -o "$T/d"
content_ids() { "$PARROT" pack --inspect "$1" | sed -n 's/.*content \([0-9a-f]*\)$/\1/p'; }
content_ids "$T/d" > "$T/content.before"
check pack_force "$PARROT" pack -q --corpus "$T/c" --tokenizer "$G" -o "$T/d" --force
# the content ids (what a loader position is checked against): the same for the same data packed
# again, another for the same tokens cut into other shards
content_ids "$T/d" > "$T/content.after"
content_ids "$T/d1" > "$T/content.small"
check pack_content_same cmp "$T/content.before" "$T/content.after"
check pack_content_two_splits test "$(wc -l < "$T/content.before")" = 2
check_fails pack_content_other "differ" cmp "$T/content.before" "$T/content.small"
check pack_force_same sh -c "$PARROT pack --dump $T/d | cmp - $T/train.want"
check pack_no_tmp_left sh -c "! ls -d $T/d.tmp-* 2>/dev/null"
"$PYTHON" -c '
import json, sys
j = json.load(open(sys.argv[1]))
j["added_tokens"] = [a for a in j["added_tokens"] if a["content"] != "<|endoftext|>"]
j["model"]["vocab"].pop("<|endoftext|>", None)
json.dump(j, open(sys.argv[2], "w"))' "$T/d/tokenizer.json" "$T/noeot.json"
check_fails pack_no_eot "no \"<\|endoftext\|>\" token" "$PARROT" pack -q --corpus "$T/c" --tokenizer "$T/noeot.json" -o "$T/x"
check pack_no_eot_nothing_left sh -c "! ls -d $T/x $T/x.tmp-* 2>/dev/null"
check_fails pack_not_corpus "not a parrot corpus" "$PARROT" pack -q --corpus "$T" --tokenizer "$G" -o "$T/x"
check_fails pack_usage "give the output" "$PARROT" pack --corpus "$T/c" --tokenizer "$G"

# damaged shards: named, with what is wrong
cp -r "$T/d" "$T/bad"
S="$T/bad/train-00000.tok"
size=$(stat -c %s "$S")
head -c $((size - 100)) "$T/d/train-00000.tok" > "$S"
check_fails pack_truncated "train-00000.tok: truncated: .*\(100 bytes missing\)" "$PARROT" pack --dump "$T/bad"
cp "$T/d/train-00000.tok" "$S"
printf '\x07' | dd of="$S" bs=1 seek=1000 conv=notrunc status=none
check_fails pack_corrupt_tokens "train-00000.tok: token checksum mismatch" "$PARROT" pack --dump "$T/bad"
cp "$T/d/train-00000.tok" "$S"
printf 'X' | dd of="$S" bs=1 seek=0 conv=notrunc status=none
check_fails pack_bad_magic "train-00000.tok: not a parrot token shard" "$PARROT" pack --inspect "$T/bad"
cp "$T/d/train-00000.tok" "$S"
printf '\x09' | dd of="$S" bs=1 seek=8 conv=notrunc status=none
check_fails pack_newer_version "train-00000.tok: format version 9 is newer" "$PARROT" pack --dump "$T/bad"
cp "$T/d/train-00000.tok" "$S"
printf '\x01' | dd of="$S" bs=1 seek=24 conv=notrunc status=none
check_fails pack_header_checksum "train-00000.tok: header checksum mismatch" "$PARROT" pack --dump "$T/bad"
cp "$T/d/valid-00000.tok" "$T/bad/valid-00003.tok"
cp "$T/d/train-00000.tok" "$S"
check_fails pack_missing_shard "valid-00001.tok: missing" "$PARROT" pack --dump "$T/bad" --split valid
