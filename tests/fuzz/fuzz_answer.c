/* Fuzz target: arbitrary bytes as a query against the sample zones. */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* An exactly sized copy, so reads past the query are caught in the
	 * replay build as well as under libFuzzer. */
	uint8_t *q = malloc(size ? size : 1);

	if (size)
		memcpy(q, data, size);
	fuzz_answer_all(fuzz_sample_table(), q, size, true);
	free(q);
	return 0;
}
