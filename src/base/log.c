/* log.c - see log.h. */
#include "base/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

int pt_log_level = PT_LOG_INFO;

void pt_log(int level, const char *fmt, ...) {
    if (level > pt_log_level) return;
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

void pt_warn(const char *fmt, ...) {
    if (pt_log_level < PT_LOG_INFO) return;
    va_list ap;
    va_start(ap, fmt);
    fputs("parrot: warning: ", stderr);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

double pt_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void pt_progress_start(pt_progress *p, const char *what, uint64_t total_bytes) {
    p->what = what;
    p->start = p->last = pt_now();
    p->total_bytes = total_bytes;
    p->tty = isatty(2);
    p->active = pt_log_level >= PT_LOG_INFO;
}

static void fmt_secs(char *out, size_t n, double s) {
    if (s < 0) s = 0;
    long t = (long)(s + 0.5);
    if (t >= 3600) snprintf(out, n, "%ldh%02ldm", t / 3600, (t / 60) % 60);
    else snprintf(out, n, "%ldm%02lds", t / 60, t % 60);
}

static void progress_print(pt_progress *p, uint64_t items, uint64_t bytes, int final) {
    double now = pt_now(), el = now - p->start;
    if (el <= 0) el = 1e-9;
    double mb = (double)bytes / 1e6;
    char left[32] = "?", took[32];
    fmt_secs(took, sizeof took, el);
    if (p->total_bytes && bytes) fmt_secs(left, sizeof left, el * ((double)p->total_bytes / (double)bytes - 1.0));
    char line[256];
    if (final)
        snprintf(line, sizeof line, "%s: %llu docs, %.1f MB in %s (%.0f docs/s, %.1f MB/s)", p->what,
                 (unsigned long long)items, mb, took, (double)items / el, mb / el);
    else if (p->total_bytes)
        snprintf(line, sizeof line, "%s: %llu docs, %.1f/%.1f MB (%.0f%%), %.0f docs/s, %.1f MB/s, %s left", p->what,
                 (unsigned long long)items, mb, (double)p->total_bytes / 1e6, 100.0 * (double)bytes / (double)p->total_bytes,
                 (double)items / el, mb / el, left);
    else
        snprintf(line, sizeof line, "%s: %llu docs, %.1f MB, %.0f docs/s, %.1f MB/s, %s elapsed", p->what,
                 (unsigned long long)items, mb, (double)items / el, mb / el, took);
    if (p->tty) fprintf(stderr, "\r\033[K%s%s", line, final ? "\n" : "");
    else fprintf(stderr, "%s\n", line);
}

void pt_progress_update(pt_progress *p, uint64_t items, uint64_t bytes) {
    if (!p->active) return;
    double now = pt_now();
    if (now - p->last < (p->tty ? 0.2 : 10.0)) return;
    p->last = now;
    progress_print(p, items, bytes, 0);
}

void pt_progress_end(pt_progress *p, uint64_t items, uint64_t bytes) {
    if (!p->active) return;
    progress_print(p, items, bytes, 1);
}

uint64_t pt_peak_rss(void) {
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0) return 0;
    return (uint64_t)ru.ru_maxrss * 1024; /* Linux reports KiB */
}
