/* Fuzz target: arbitrary bytes as an image. Opened as they are (which the
 * checksum nearly always refuses) and again with size and checksum fixed,
 * so the structural checks are reached; an image that opens is answered
 * from. Well-formed output from a damaged image is a matter for the
 * loader's checks (test_image), not for this target, which looks for
 * memory errors: the answers are not parsed. */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ditto_image *img;

	if (fuzz_open_copy(data, size, &img) == 0) {
		fuzz_exercise_image(img, false);
		ditto_image_free(img);
	}
	if (size < sizeof(struct ditto_image_hdr))
		return 0;

	uint8_t *m = malloc(size);
	memcpy(m, data, size);
	struct ditto_image_hdr *h = (struct ditto_image_hdr *)(void *)m;
	h->size = size;
	h->checksum = 0;
	h->checksum = ditto_image_checksum(m, size);
	if (fuzz_open_copy(m, size, &img) == 0) {
		fuzz_exercise_image(img, false);
		ditto_image_free(img);
	}
	free(m);
	return 0;
}
