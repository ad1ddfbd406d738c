/* xorshift64*: a fixed sequence from a fixed seed, so a failure found by
 * random inputs in a test or a replay reproduces on every run. */
#ifndef DITTO_TEST_RNG_H
#define DITTO_TEST_RNG_H

#include <stdint.h>

static inline uint64_t rng_next(uint64_t *state)
{
	*state ^= *state >> 12;
	*state ^= *state << 25;
	*state ^= *state >> 27;
	return *state * 0x2545f4914f6cdd1dULL;
}

#endif
