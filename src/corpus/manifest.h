/* manifest.h - DIR/manifest.json of a corpus: provenance, parameters and the per-step
 * report of `parrot corpus build`, and its rendering as a table for `corpus stats`.
 *
 * The manifest is JSON so that other tools can read it; its "format" is
 * "parrot-corpus" and "format_version" is bumped on incompatible changes. Steps are
 * listed in pipeline order, each with documents/bytes in, dropped by reason, and out.
 */
#ifndef PT_MANIFEST_H
#define PT_MANIFEST_H

#include "base/buf.h"
#include "corpus/build.h"

#define PT_MANIFEST_VERSION 1

/* Writes dir/manifest.json atomically. */
int pt_manifest_write(const char *dir, const pt_build_params *p, const pt_build_report *r, const pt_input_info *in,
                      int ninputs, pt_err *e);

/* Reads dir/manifest.json and renders the report as a text table into out. Fails with a
 * clear message if dir is not a parrot corpus or the manifest is of another version. */
int pt_manifest_table(const char *dir, pt_buf *out, pt_err *e);

/* Reads dir/manifest.json into out and checks it is a parrot corpus manifest. */
int pt_manifest_read(const char *dir, pt_buf *out, pt_err *e);

#endif
