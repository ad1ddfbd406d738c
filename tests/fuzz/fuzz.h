/* Shared pieces of the fuzz targets: the libFuzzer entry point, the sample
 * zone table, and answer() run under several transports with the
 * invariants every response must keep. */
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

#endif
