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

/* One record in wire form: names uncompressed, case as received. */
struct ditto_wire_rr {
	const uint8_t *owner;
	size_t owner_len;
	uint16_t type;
	uint16_t rrclass;
	uint32_t ttl;
	const uint8_t *rdata;
	size_t rdlen;
};

/* A source of records: fills *rr and returns 1, returns 0 at the end, or
 * a negative ditto_error. What rr points at stays valid until the next
 * call. */
typedef int (*ditto_rr_source)(void *arg, struct ditto_wire_rr *rr);

/* The same from records in wire form, as a transfer delivers them (name
 * is used in messages, which number the records from 1). opts->origin
 * is required: it is the zone the records must belong to. */
int ditto_compile_records(ditto_rr_source next, void *arg, const char *name,
			  const struct ditto_compile_opts *opts,
			  struct ditto_compiled *out);

void ditto_compiled_free(struct ditto_compiled *c);

/* Write a file atomically: temporary file, fsync, rename, fsync of the
 * directory. 0 or a negative errno. ditto_image_write() is the same with
 * mode 0644. */
int ditto_file_write(const char *path, const void *data, size_t size,
		     unsigned mode);
int ditto_image_write(const char *path, const uint8_t *image, size_t size);
/* A whole file into *buf (malloc'd, *size bytes), refused outside
 * [min, max] bytes. 0, DITTO_ENOENT when it does not exist, DITTO_ETRUNC
 * or DITTO_ELIMIT for the size, DITTO_EIO or DITTO_ENOMEM, with the
 * reason in err. */
int ditto_file_read(const char *path, size_t min, size_t max, uint8_t **buf,
		    size_t *size, char *err, size_t errlen);

#endif
