/* tfevents.h - TensorBoard event files: training scalars that TensorBoard (and anything that
 * reads TensorFlow summaries) plots without a TensorFlow or protobuf dependency here.
 *
 * The file is what tf.summary writes: a sequence of TFRecords, each one serialized
 * tensorflow.Event protobuf message:
 *     record = u64 length (LE) | u32 masked CRC-32C of those 8 bytes | data | u32 masked CRC-32C of data
 *     Event  = wall_time (1, double) step (2, int64) file_version (3, string) summary (5, Summary)
 *              session_log (7, SessionLog)
 *     Summary.value (1, repeated Value); Value = tag (1, string) simple_value (2, float)
 * The first record is Event{wall_time, file_version: "brain.Event:2"}; each scalar is one
 * Event with a one-value Summary. The protobuf wire format (varints, fixed64/fixed32,
 * length-delimited fields) is written by hand: a handful of fields is not worth a library.
 *
 * Why a new file per open: TensorFlow names a file events.out.tfevents.<unix seconds>.<host>
 * and appends ".<pid>.<n>" (so two writers never share one); TensorBoard reads every such file
 * of a run folder in name order. A resumed run therefore opens a new file in the same folder
 * and, to drop the points logged after the checkpoint it resumes from, calls
 * pt_tfevents_session_start with the resumed step: TensorBoard (file_version 2) then discards
 * every point at or after that step ("purge orphaned data"), as it does for tf.train's
 * Supervisor.
 *
 * Buffering and errors: records gather in memory and reach the file at pt_tfevents_flush,
 * at close, or when 64 KiB are pending; a flush is one write() loop (no fsync - an event file
 * is a log, not a checkpoint). A failed flush (disk full, file too large) returns PT_EIO with
 * the file name, truncates the file back to its last complete record and drops the pending
 * records, so the file stays readable and the writer stays usable: the caller may warn and
 * keep training; later points are written once the disk has room again.
 *
 * Thread-safety: one writer per thread (no locking inside); distinct writers are independent.
 */
#ifndef PT_TRAIN_TFEVENTS_H
#define PT_TRAIN_TFEVENTS_H

#include <stddef.h>
#include <stdint.h>

#include "base/status.h"

typedef struct pt_tfevents pt_tfevents;

/* Creates dir (and its parents) if needed and a new event file in it named
 * "events.out.tfevents.<unix seconds>.<hostname>.<pid>.<n>" (created exclusively: never
 * overwrites), and writes the file_version record (flushed at once, so a reader sees a valid
 * file). On success *w is owned by the caller until pt_tfevents_close; on failure *w is NULL
 * and e names the folder or file. */
int pt_tfevents_open(pt_tfevents **w, const char *dir, pt_err *e);

/* The path of the file being written (owned by w). */
const char *pt_tfevents_path(const pt_tfevents *w);

/* Appends Event{wall_time, step, summary{value{tag, simple_value: value}}}. tag is any
 * NUL-terminated string (TensorBoard groups "a/b" tags under "a"); NaN and infinities are
 * written as they are. wall_time is seconds since the epoch (pt_tfevents_now()). Buffered:
 * an error here is a failed automatic flush (see the file comment). */
int pt_tfevents_scalar(pt_tfevents *w, const char *tag, int64_t step, double wall_time, float value,
                       pt_err *e);

/* Appends Event{wall_time, step, session_log{status: START}}: tells TensorBoard that the run
 * restarted at step, so points at or after step from earlier files are discarded. */
int pt_tfevents_session_start(pt_tfevents *w, int64_t step, double wall_time, pt_err *e);

/* Writes every pending record to the file (to the kernel; no fsync). */
int pt_tfevents_flush(pt_tfevents *w, pt_err *e);

/* Flushes, closes and frees w (NULL is fine). w is freed even when the flush or the close
 * fails; the status says whether every record reached the file. */
int pt_tfevents_close(pt_tfevents *w, pt_err *e);

/* Seconds since the epoch, with microseconds (CLOCK_REALTIME), for wall_time. */
double pt_tfevents_now(void);

/* ---- encoding, exposed for tests and other record writers ---------------------------- */

/* Frames data[0..n) as one TFRecord into out[0..n + 16). */
void pt_tfrecord_frame(const void *data, size_t n, unsigned char *out);

#endif
