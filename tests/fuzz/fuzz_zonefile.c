/* Fuzz target: arbitrary bytes as a master file (RFC 1035 §5) through
 * ditto_compile_text(), the compiler of ditto-zone. A zone that compiles
 * must give an image that opens, and that answers well-formed responses
 * for a sample of its names.
 *
 * The text is named as a file in tests/zones, so a relative $INCLUDE
 * reads beside the seeds there; an input that could $INCLUDE anything
 * else (a path, or a name that the entry joining could change) is passed
 * over: /dev/zero or a large file would measure the disk, not the code.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "compile.h"
#include "fuzz.h"

#ifndef FUZZ_ZONES_DIR
#error "FUZZ_ZONES_DIR: the tests/zones directory"
#endif

/* Whether every "$INCLUDE" (any case, anywhere) is followed by blanks and
 * a name of tests/zones that ends the line or is followed by a blank. */
static bool includes_ok(const char *t, size_t n)
{
	static const char *const files[] = { "example.com.inc",
					     "child.example.com.zone" };

	for (size_t i = 0; i + 8 <= n; i++) {
		if (strncasecmp(t + i, "$include", 8) != 0)
			continue;
		size_t p = i + 8, w;

		while (p < n && (t[p] == ' ' || t[p] == '\t'))
			p++;
		for (w = p; w < n && t[w] != ' ' && t[w] != '\t' &&
			    t[w] != '\n' && t[w] != '\r'; w++)
			;
		bool known = false;

		for (size_t k = 0; k < sizeof(files) / sizeof(files[0]); k++)
			known |= w - p == strlen(files[k]) &&
				 memcmp(t + p, files[k], w - p) == 0;
		if (!known)
			return false;
	}
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* An exact copy: the compiler takes a length, not a terminator. */
	char *text = malloc(size ? size : 1);
	struct ditto_compile_opts opts = { .default_ttl = 3600 };
	struct ditto_compiled c;
	struct ditto_image *img;

	if (size)
		memcpy(text, data, size);
	if (!includes_ok(text, size)) {
		free(text);
		return 0;
	}
	memset(&c, 0, sizeof(c));
	if (ditto_compile_text(text, size, FUZZ_ZONES_DIR "/fuzz.zone", &opts,
			       &c) == 0) {
		FUZZ_CHECK(c.image && c.size, "compiled, but no image");
		FUZZ_CHECK(fuzz_open_copy(c.image, c.size, &img) == 0,
			   "the compiler's image does not open");
		fuzz_exercise_image(img, true);
		ditto_image_free(img);
	} else {
		FUZZ_CHECK(!c.image && c.first_error[0],
			   "a failed compile with an image or no reason");
	}
	ditto_compiled_free(&c);
	free(text);
	return 0;
}
