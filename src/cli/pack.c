/* pack.c - `parrot pack`: a corpus encoded into token shards for training (data/pack.h), and
 * the two views of a packed folder: --inspect (the header facts of every shard) and --dump
 * (the ids of a split in stream order, one per line). */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/jsonw.h"
#include "base/log.h"
#include "cli/cli.h"
#include "data/pack.h"
#include "data/tokens.h"

static const char usage[] =
    "usage: parrot pack --corpus DIR --tokenizer T -o DATA [options]\n"
    "       parrot pack --inspect DATA [--json]\n"
    "       parrot pack --dump DATA [--split train|valid] [--limit N]\n"
    "\n"
    "Encodes a corpus's train and valid splits (from `parrot corpus build`) with a tokenizer into token\n"
    "shards DATA/train-NNNNN.tok and DATA/valid-NNNNN.tok: each document's ids followed by the end-of-text\n"
    "id (\"<|endoftext|>\", which the tokenizer must have), in corpus order; 2-byte ids when the vocabulary\n"
    "has at most 65536 ids, else 4. DATA also gets tokenizer.json and manifest.json (docs/formats.md).\n"
    "DATA is built as DATA.tmp-<pid> and renamed when complete.\n"
    "\n"
    "  -c, --corpus DIR       the corpus folder\n"
    "  -t, --tokenizer T      a tokenizer.json, or a folder with one (or GPT-2's files)\n"
    "  -o, --out DATA         the output folder (refused if it exists, unless --force)\n"
    "      --force            replace an existing DATA (once the new one is complete)\n"
    "      --shard-tokens N   start a new shard after N tokens (K/M/G suffixes; default 256M)\n"
    "      --threads N        encoding threads (default: all cores)\n"
    "      --inspect DATA     print each shard's header facts and counts (--json: as JSON)\n"
    "      --dump DATA        print a split's ids in stream order, one per line\n"
    "      --split S          the split to dump (default train)\n"
    "      --limit N          dump at most N ids\n"
    "  -q, --quiet, -v, --verbose\n"
    "  -h, --help\n";

static int inspect(const char *dir, int json) {
    static const char *const splits[2] = {"train", "valid"};
    pt_buf b = {0};
    pt_err e = {0};
    int rc = PT_OK;
    if (json) rc = pt_buf_printf(&b, &e, "{\"data\": "), rc = rc ? rc : pt_jsonw_cstr(&b, dir, &e),
              rc = rc ? rc : pt_buf_printf(&b, &e, ", \"splits\": {");
    for (int k = 0; k < 2 && !rc; k++) {
        pt_tokens *t = NULL;
        if ((rc = pt_tokens_open(&t, dir, splits[k], &e))) break;
        char hex[33], chex[33];
        pt_hash128_hex(pt_tokens_tokenizer_hash(t), hex);
        pt_hash128_hex(pt_tokens_content_hash(t), chex); /* what a loader position is checked against */
        if (json)
            rc = pt_buf_printf(&b, &e, "%s\"%s\": {\"tokens\": %" PRIu64 ", \"docs\": %" PRIu64 ", \"vocab_size\": %u, "
                               "\"eot_id\": %u, \"tokenizer_hash\": \"%s\", \"content_hash\": \"%s\", \"shards\": [",
                               k ? ", " : "", splits[k], pt_tokens_count(t), pt_tokens_docs(t), pt_tokens_vocab_size(t),
                               pt_tokens_eot(t), hex, chex);
        else
            rc = pt_buf_printf(&b, &e, "%s: %" PRIu64 " tokens, %" PRIu64 " documents, vocabulary %u, end-of-text %u, "
                               "tokenizer %s, content %s\n", splits[k], pt_tokens_count(t), pt_tokens_docs(t),
                               pt_tokens_vocab_size(t), pt_tokens_eot(t), hex, chex);
        for (uint32_t s = 0; s < pt_tokens_shard_count(t) && !rc; s++) {
            pt_tokens_shard_info si;
            pt_tokens_shard(t, s, &si);
            if (json) {
                rc = pt_buf_printf(&b, &e, "%s{\"path\": ", s ? ", " : "");
                if (!rc) rc = pt_jsonw_cstr(&b, si.path, &e);
                if (!rc)
                    rc = pt_buf_printf(&b, &e, ", \"version\": %u, \"token_bytes\": %u, \"tokens\": %" PRIu64
                                       ", \"docs\": %" PRIu64 ", \"file_size\": %" PRIu64 "}", si.version, si.width,
                                       si.tokens, si.docs, si.file_size);
            } else {
                rc = pt_buf_printf(&b, &e, "  %s: version %u, %u-byte ids, %" PRIu64 " tokens, %" PRIu64
                                   " documents, %" PRIu64 " bytes\n", si.path, si.version, si.width, si.tokens,
                                   si.docs, si.file_size);
            }
        }
        if (!rc && json) rc = pt_buf_printf(&b, &e, "]}");
        pt_tokens_close(t);
    }
    if (!rc && json) rc = pt_buf_printf(&b, &e, "}}\n");
    if (rc) {
        pt_buf_free(&b);
        return pt_cli_report("pack --inspect", &e);
    }
    fwrite(b.data, 1, b.len, stdout);
    pt_buf_free(&b);
    return fflush(stdout) ? PT_EXIT_FAIL : PT_EXIT_OK;
}

static int dump(const char *dir, const char *split, unsigned long long limit) {
    pt_err e = {0};
    pt_tokens *t = NULL;
    if (pt_tokens_open(&t, dir, split, &e)) return pt_cli_report("pack --dump", &e);
    uint64_t n = pt_tokens_count(t);
    if (limit && limit < n) n = limit;
    uint32_t buf[4096];
    char line[4096 * 11];
    for (uint64_t i = 0; i < n;) {
        size_t m = n - i < 4096 ? (size_t)(n - i) : 4096;
        pt_tokens_read(t, i, m, buf);
        size_t len = 0;
        for (size_t k = 0; k < m; k++) {
            char tmp[11];
            int d = 0;
            uint32_t v = buf[k];
            do tmp[d++] = (char)('0' + v % 10), v /= 10; while (v);
            while (d) line[len++] = tmp[--d];
            line[len++] = '\n';
        }
        if (fwrite(line, 1, len, stdout) != len) break;
        i += m;
    }
    pt_tokens_close(t);
    if (fflush(stdout) || ferror(stdout)) {
        fprintf(stderr, "parrot: pack --dump: cannot write standard output\n");
        return PT_EXIT_FAIL;
    }
    return PT_EXIT_OK;
}

int cmd_pack(int argc, char **argv) {
    enum { O_FORCE = 256, O_SHARD, O_THREADS, O_INSPECT, O_JSON, O_DUMP, O_SPLIT, O_LIMIT };
    static const struct option opts[] = {
        {"corpus", required_argument, 0, 'c'},  {"tokenizer", required_argument, 0, 't'},
        {"out", required_argument, 0, 'o'},     {"force", no_argument, 0, O_FORCE},
        {"shard-tokens", required_argument, 0, O_SHARD}, {"threads", required_argument, 0, O_THREADS},
        {"inspect", required_argument, 0, O_INSPECT}, {"json", no_argument, 0, O_JSON},
        {"dump", required_argument, 0, O_DUMP}, {"split", required_argument, 0, O_SPLIT},
        {"limit", required_argument, 0, O_LIMIT}, {"quiet", no_argument, 0, 'q'},
        {"verbose", no_argument, 0, 'v'},       {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    const char *cmd = "pack";
    pt_pack_opts o = {.threads = pt_cli_default_threads(), .command = pt_cli_cmdline, .version = PT_VERSION};
    const char *inspect_dir = NULL, *dump_dir = NULL, *split = "train";
    int json = 0, c;
    unsigned long long shard = 0, limit = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "c:t:o:qvh", opts, NULL)) != -1) {
        switch (c) {
        case 'c': o.corpus_dir = optarg; break;
        case 't': o.tokenizer_path = optarg; break;
        case 'o': o.out_dir = optarg; break;
        case O_FORCE: o.force = 1; break;
        case O_SHARD:
            if (pt_cli_parse_size(optarg, &shard) || !shard) return pt_cli_usage_error(cmd, "bad --shard-tokens '%s'", optarg);
            break;
        case O_THREADS:
            if (pt_cli_parse_threads(optarg, &o.threads)) return pt_cli_usage_error(cmd, "bad --threads '%s'", optarg);
            break;
        case O_INSPECT: inspect_dir = optarg; break;
        case O_JSON: json = 1; break;
        case O_DUMP: dump_dir = optarg; break;
        case O_SPLIT: split = optarg; break;
        case O_LIMIT:
            if (pt_cli_parse_size(optarg, &limit) || !limit) return pt_cli_usage_error(cmd, "bad --limit '%s'", optarg);
            break;
        case 'q': pt_log_level = PT_LOG_QUIET; break;
        case 'v': pt_log_level = PT_LOG_VERBOSE; break;
        case 'h': fputs(usage, stdout); return PT_EXIT_OK;
        default: return pt_cli_usage_error(cmd, "unknown option");
        }
    }
    if (optind < argc) return pt_cli_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
    if (inspect_dir && dump_dir) return pt_cli_usage_error(cmd, "--inspect and --dump are exclusive");
    if (inspect_dir) return inspect(inspect_dir, json);
    if (dump_dir) return dump(dump_dir, split, limit);
    if (!o.corpus_dir) return pt_cli_usage_error(cmd, "give the corpus with --corpus DIR");
    if (!o.tokenizer_path) return pt_cli_usage_error(cmd, "give the tokenizer with --tokenizer T");
    if (!o.out_dir) return pt_cli_usage_error(cmd, "give the output folder with -o DATA");
    o.shard_tokens = shard;
    pt_cli_catch_interrupts();
    o.cancel = &pt_cli_interrupted;
    pt_err e = {0};
    pt_pack_report r;
    if (pt_pack_run(&o, &r, &e)) return pt_cli_report(cmd, &e);
    uint64_t tok = r.split[0].tokens + r.split[1].tokens, bytes = r.split[0].bytes + r.split[1].bytes;
    pt_info("packed %s: %" PRIu64 " + %" PRIu64 " tokens (train + valid), %" PRIu64 " documents, %.2f s "
            "(%.2f MB/s, %.2f M tokens/s on %d threads)", o.out_dir, r.split[0].tokens, r.split[1].tokens,
            r.split[0].docs + r.split[1].docs, r.seconds, bytes / 1e6 / (r.seconds > 0 ? r.seconds : 1e-9),
            tok / 1e6 / (r.seconds > 0 ? r.seconds : 1e-9), o.threads);
    return PT_EXIT_OK;
}
