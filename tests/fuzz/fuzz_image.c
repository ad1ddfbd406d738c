/* Fuzz target: arbitrary bytes as an image. Opened as they are (which the
 * checksum nearly always refuses) and again with size and checksum fixed,
 * so the structural checks are reached; an image that opens is answered
 * from. */
#include <stdlib.h>
#include <string.h>

#include "ditto/wire.h"
#include "fuzz.h"

/* Queries for names of the image: each node, a name below it. */
static void exercise(struct ditto_image *img)
{
	static const uint16_t types[] = { DNS_T_A, DNS_T_MX, DNS_T_ANY,
					  DNS_T_DS };
	struct ditto_zone_table *t0 = ditto_zone_table_new();
	struct ditto_zone_table *t = ditto_zone_table_with(t0, img, NULL);
	uint32_t n = img->hdr->node_count;
	uint32_t step = n > 16 ? n / 16 : 1;
	uint8_t q[DNS_HDR_LEN + 2 + 256 + 4 + 11];

	ditto_zone_table_free(t0);
	for (uint32_t i = 0; i < n; i += step) {
		const struct ditto_node *node = &img->nodes[i];
		for (size_t k = 0; k < sizeof(types) / sizeof(types[0]); k++) {
			int below = (int)(k & 1);
			size_t o = DNS_HDR_LEN;
			memset(q, 0, DNS_HDR_LEN);
			dns_put16(q, 0x4242);
			dns_put16(q + 4, 1);
			if (below && node->name_len + 2 <= 255) {
				memcpy(q + o, "\001z", 2);
				o += 2;
			}
			memcpy(q + o, img->names + node->name, node->name_len);
			o += node->name_len;
			dns_put16(q + o, types[k]);
			dns_put16(q + o + 2, DNS_CLASS_IN);
			o += 4;
			if (k >= 2) {	/* EDNS with DO */
				static const uint8_t opt[11] = {
					0, 0, 41, 0x04, 0xd0, 0, 0, 0x80, 0 };
				memcpy(q + o, opt, sizeof(opt));
				o += sizeof(opt);
				dns_put16(q + 10, 1);
			}
			/* Well-formed output from a damaged image is a matter for
			 * the loader's checks (test_image), not for this
			 * target, which looks for memory errors. */
			fuzz_answer_all(t, q, o, false);
		}
	}
	ditto_zone_table_free(t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ditto_image *img;

	if (fuzz_open_copy(data, size, &img) == 0) {
		exercise(img);
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
		exercise(img);
		ditto_image_free(img);
	}
	free(m);
	return 0;
}
