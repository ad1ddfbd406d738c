/* Shared pieces of the fuzz targets: the libFuzzer entry point, the sample
 * zone table, answer() run under several transports with the invariants
 * every response must keep, and small zone contents built from text. */
#ifndef DITTO_FUZZ_H
#define DITTO_FUZZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The sample zones (tests/unit/sample_zone.c) compiled and opened once;
 * aborts when they do not compile. */
const struct ditto_zone_table *fuzz_sample_table(void);

/* Answer q over UDP, TCP, into a 512-byte buffer and in place, and abort
 * when a response breaks an invariant: longer than its buffer, shorter
 * than a header, QR clear, another ID, or (when parse is set: the images
 * are known good) not parseable by ldns. */
void fuzz_answer_all(const struct ditto_zone_table *t, const uint8_t *q,
		     size_t qlen, bool parse);

/* Copy bytes into an exactly sized buffer and open it; the image owns
 * the copy on success. */
int fuzz_open_copy(const uint8_t *bytes, size_t size, struct ditto_image **out);

/* Ask img for a sample of its names (each node, a name below it; A, MX,
 * ANY and DS, the last two with EDNS and DO) through fuzz_answer_all();
 * parse as there. */
void fuzz_exercise_image(struct ditto_image *img, bool parse);

/* Abort with why when cond does not hold: the invariants of the targets,
 * kept in release builds too. (libFuzzer keeps the input that aborted;
 * the replay program writes it out.) */
#define FUZZ_CHECK(cond, why) \
	((cond) ? (void)0 : fuzz_fail(why, __FILE__, __LINE__))
void fuzz_fail(const char *why, const char *file, int line)
	__attribute__((noreturn));

/* Read fd to its end into *buf (*cap bytes, plus one kept for a NUL;
 * grown as needed) after the *got bytes already there; aborts when out of
 * memory. A recv interrupted by libFuzzer's timer is retried. */
void fuzz_recv_all(int fd, char **buf, size_t *cap, size_t *got);

struct contents;

/* A zone of the records (presentation text, absolute names; the SOA
 * first; NULL-terminated) at apex, which must all be accepted; aborts
 * otherwise. */
struct contents *fuzz_contents(const char *apex, const char *const *records);

#endif
