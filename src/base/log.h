/* log.h - messages for the user, on stderr, and progress lines for long work.
 *
 * The library reports through pt_log; the CLI sets the level from --quiet/--verbose.
 * Nothing here writes to stdout, which belongs to the command's own output.
 *
 * Progress: on a terminal a single line is redrawn in place (items/s, MB/s, time left);
 * when stderr is not a terminal a plain line is written every `interval` seconds, so
 * logs stay readable.
 */
#ifndef PT_LOG_H
#define PT_LOG_H

#include <stdint.h>

enum { PT_LOG_QUIET = 0, PT_LOG_INFO = 1, PT_LOG_VERBOSE = 2 };

extern int pt_log_level;

void pt_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#define pt_info(...) pt_log(PT_LOG_INFO, __VA_ARGS__)
#define pt_verbose(...) pt_log(PT_LOG_VERBOSE, __VA_ARGS__)
void pt_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2))); /* unless quiet */

/* Monotonic seconds. */
double pt_now(void);

typedef struct pt_progress {
    const char *what;
    double start, last;
    uint64_t total_bytes; /* 0 if unknown */
    int tty, active;
} pt_progress;

void pt_progress_start(pt_progress *p, const char *what, uint64_t total_bytes);
/* Cheap to call often: prints at most every 0.2 s on a tty, every 10 s otherwise. */
void pt_progress_update(pt_progress *p, uint64_t items, uint64_t bytes);
void pt_progress_end(pt_progress *p, uint64_t items, uint64_t bytes);

/* Peak resident memory of this process in bytes (from getrusage). */
uint64_t pt_peak_rss(void);

#endif
