/* The zone compiler: zone text -> semantic checks -> image. */
#ifndef DITTO_COMPILE_H
#define DITTO_COMPILE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct ditto_compile_limits {
	size_t max_names;	/* owner names, empty non-terminals included */
	size_t max_records;
	size_t max_rrset_bytes;	/* rendered wire size of one RRset */
};

struct ditto_compile_opts {
	const char *origin;	/* presentation form; NULL = from $ORIGIN */
	uint32_t default_ttl;	/* until $TTL, default 3600 */
	struct ditto_compile_limits limits;	/* zero fields = defaults */
	FILE *log;		/* errors and warnings, one line each; NULL = quiet */
};

/* The result: an image in malloc'd memory, ready to write or to open. */
struct ditto_compiled {
	uint8_t *image;
	size_t size;
	uint32_t serial;
	size_t records;		/* records accepted */
	size_t names;		/* nodes, empty non-terminals included */
	unsigned warnings;
	unsigned errors;
	char first_error[512];	/* the first error, "file:line: message" */
};

/* Compile a master file. Returns 0, or a negative ditto_error with the
 * first error in out->first_error (every error goes to opts->log). On
 * error out->image is NULL. */
int ditto_compile_file(const char *path, const struct ditto_compile_opts *opts,
		       struct ditto_compiled *out);

/* The same from zone text in memory (name is used in messages). */
int ditto_compile_text(const char *text, size_t len, const char *name,
		       const struct ditto_compile_opts *opts,
		       struct ditto_compiled *out);

void ditto_compiled_free(struct ditto_compiled *c);

/* Write an image atomically: temporary file, fsync, rename, fsync dir. */
int ditto_image_write(const char *path, const uint8_t *image, size_t size);

#endif
