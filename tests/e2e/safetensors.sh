#!/usr/bin/env bash
# safetensors (hf/safetensors) against Hugging Face's safetensors package, both ways: files
# parrot writes (F32, F16 and BF16 conversions, a transposed tensor, integers, bool, a 0-d and
# an empty tensor, metadata) load in Python with every value exact; a file Python's serializer
# writes (every dtype kind, metadata, 0-d and empty tensors) is read by parrot byte for byte,
# with the F16/BF16/F64 -> F32 conversions numpy gives; damaged files (which safetensors also
# refuses) are refused by parrot with a message naming the file and the fault.
. "$(dirname "$0")/lib.sh"
W=${BUILD:-build}/tests/test_safetensors
[ -x "$W" ] || { fail safetensors "$W not built"; exit 0; }
"$PYTHON" -c 'import safetensors' 2>/dev/null || { fail safetensors "safetensors missing from the venv: make deps"; exit 0; }
ST="$PYTHON tools/st_check.py"

check st_parrot_writes "$W" --write "$T/np.safetensors" "$T/bf16.safetensors"
check st_python_reads_parrot $ST parrot "$T/np.safetensors" "$T/bf16.safetensors"
check st_python_writes $ST python "$T/py.safetensors" "$T/py.want"
check st_parrot_reads_python sh -c "'$W' --dump '$T/py.safetensors' | sort > '$T/py.got' && sort '$T/py.want' | diff - '$T/py.got'"
# the comparison can fail: one byte of one tensor changed
"$PYTHON" -c 'import sys; p=sys.argv[1]; b=bytearray(open(p,"rb").read()); b[-1]^=1; open(p+".x","wb").write(b)' "$T/py.safetensors"
check_fails st_difference_seen "^[<>] tensor" bash -c "'$W' --dump '$T/py.safetensors.x' | sort | diff <(sort '$T/py.want') - >&2"

check st_damaged_made $ST corrupt "$T/py.safetensors" "$T/bad"
bad() { # name pattern
    check_fails "st_refuses_$1" "bad/$1\.safetensors: .*($2)" "$W" --dump "$T/bad/$1.safetensors"
}
bad truncated "beyond the data .*truncated file"
bad truncated_header "header size [0-9]+ exceeds the file"
bad wrong_size "header: malformed JSON"
bad huge_size "too large"
bad bad_dtype "unknown dtype \"F33\""
bad shape_mismatch "tensor 'w': shape of 24 F32 elements needs 96 bytes"
bad overlap "overlaps the previous tensor"
bad not_json "malformed JSON"
bad leftover "cover [0-9]+ bytes of the [0-9]+-byte data buffer"
