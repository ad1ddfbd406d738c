/* Unit tests for the image loader: a compiled image opens, and truncated,
 * corrupted or hostile images (valid checksum, bad structure) are refused
 * before the answer path can trust them. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stddef.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include "rng.h"
#include "ditto/error.h"
#include "ditto/wire.h"
#include "helpers.h"
#include "sample_zone.h"

static struct ditto_compiled sample;	/* the sample zone, compiled once */

static bool sample_ready(void)
{
	if (sample.image)
		return true;
	int rc = h_compile(sample_zone_example(), NULL, &sample);
	if (rc < 0)
		printf("\n  sample zone does not compile: %s\n",
		       sample.first_error);
	return rc == 0;
}
#define SAMPLE() CU_ASSERT_TRUE_FATAL(sample_ready())

/* A private, exactly sized copy of the sample image to damage. */
static uint8_t *copy_sample(void)
{
	uint8_t *m = malloc(sample.size);

	memcpy(m, sample.image, sample.size);
	return m;
}

static struct ditto_image_hdr *hdr_of(uint8_t *m)
{
	return (struct ditto_image_hdr *)(void *)m;
}

static void reseal(uint8_t *m, size_t size)
{
	hdr_of(m)->checksum = 0;
	hdr_of(m)->checksum = ditto_image_checksum(m, size);
}

static struct ditto_image_section *section_of(uint8_t *m, uint32_t id)
{
	for (int i = 0; i < DITTO_SECT_COUNT; i++)
		if (hdr_of(m)->sections[i].id == id)
			return &hdr_of(m)->sections[i];
	return NULL;
}

static void *at(uint8_t *m, uint32_t id, size_t off)
{
	return m + section_of(m, id)->offset + off;
}

static struct ditto_node *node_at(uint8_t *m, uint32_t i)
{
	return (struct ditto_node *)at(m, DITTO_SECT_NODES,
				       i * sizeof(struct ditto_node));
}

static struct ditto_rrset *rrset_at(uint8_t *m, uint32_t i)
{
	return (struct ditto_rrset *)at(m, DITTO_SECT_RRSETS,
					i * sizeof(struct ditto_rrset));
}

static struct ditto_block *block_at(uint8_t *m, uint32_t off)
{
	return (struct ditto_block *)at(m, DITTO_SECT_BLOCKS, off);
}

static uint8_t *block_data(struct ditto_block *b)
{
	return (uint8_t *)(void *)((struct ditto_fixup *)(void *)(b + 1) +
				   b->fixup_count);
}

/* Open m[0..size) (copied); returns the loader's result. */
static int try_open(const uint8_t *m, size_t size, struct ditto_image **out,
		    char *err, size_t errlen)
{
	err[0] = 0;
	*out = NULL;
	return h_open_copy(m, size, out, err, errlen);
}

/* Answer a spread of queries from img: nothing may crash, every response
 * must fit its buffer. */
static void exercise(struct ditto_image *img)
{
	static const uint16_t types[] = { DNS_T_A, DNS_T_NS, DNS_T_SOA,
					  DNS_T_MX, DNS_T_ANY, DNS_T_DS };
	struct ditto_zone_table *t = h_table(img, NULL);
	uint8_t q[600], resp[4096];
	struct ditto_answer_info info;

	if (!t)
		return;
	uint32_t n = img->hdr->node_count < 48 ? img->hdr->node_count : 48;
	for (uint32_t i = 0; i < n; i++) {
		const struct ditto_node *node = &img->nodes[i];
		for (int prefix = 0; prefix < 2; prefix++)
			for (size_t k = 0; k < sizeof(types) / sizeof(types[0]);
			     k++) {
				size_t o = DNS_HDR_LEN;
				memset(q, 0, DNS_HDR_LEN);
				dns_put16(q + 4, 1);
				if (prefix) {
					memcpy(q + o, "\001z", 2);
					o += 2;
				}
				memcpy(q + o, img->names + node->name,
				       node->name_len);
				o += node->name_len;
				dns_put16(q + o, types[k]);
				dns_put16(q + o + 2, DNS_CLASS_IN);
				o += 4;
				size_t len = ditto_answer(t, h_cfg_default(), q,
							  o, resp, sizeof(resp),
							  k & 1 ? DITTO_ANSWER_TCP
								: 0, &info);
				CU_ASSERT_TRUE(len <= sizeof(resp));
			}
	}
	ditto_zone_table_free(t);
}

static void test_image_compiled_sample_opens(void)
{
	struct ditto_image *img;
	char err[256];

	SAMPLE();
	int rc = try_open(sample.image, sample.size, &img, err, sizeof(err));
	if (rc < 0)
		printf("\n  refused: %s\n", err);
	CU_ASSERT_EQUAL_FATAL(rc, 0);
	CU_ASSERT_EQUAL(memcmp(img->hdr->magic, DITTO_IMAGE_MAGIC, 8), 0);
	CU_ASSERT_EQUAL(img->hdr->version, DITTO_IMAGE_VERSION);
	CU_ASSERT_EQUAL(img->hdr->size, sample.size);
	CU_ASSERT_EQUAL(img->size, sample.size);
	CU_ASSERT_EQUAL(img->hdr->serial, 2024010101u);
	CU_ASSERT_EQUAL(img->hdr->node_count, sample.names);
	/* node 0 is the apex */
	CU_ASSERT_EQUAL(img->nodes[0].parent, DITTO_NONE);
	CU_ASSERT_EQUAL(img->nodes[0].name_len, img->hdr->apex_len);
	CU_ASSERT_EQUAL(memcmp(img->names + img->nodes[0].name, img->hdr->apex,
			       img->hdr->apex_len), 0);
	exercise(img);
	ditto_image_free(img);
}

static void test_image_find_locates_every_node_and_nothing_else(void)
{
	struct ditto_image *img;
	char err[256];

	SAMPLE();
	CU_ASSERT_EQUAL_FATAL(try_open(sample.image, sample.size, &img, err,
				       sizeof(err)), 0);
	for (uint32_t i = 0; i < img->hdr->node_count; i++) {
		const struct ditto_node *n = &img->nodes[i];
		CU_ASSERT_EQUAL(ditto_image_find(img, img->names + n->name,
						 n->name_len), i);
	}
	uint8_t w[256];
	size_t len = h_wire_name("nope.example.", w, sizeof(w));
	CU_ASSERT_EQUAL(ditto_image_find(img, w, len), DITTO_NONE);
	len = h_wire_name("example.net.", w, sizeof(w));
	CU_ASSERT_EQUAL(ditto_image_find(img, w, len), DITTO_NONE);
	ditto_image_free(img);
}

static void test_image_refuses_every_truncation(void)
{
	struct ditto_image *img;
	char err[256];
	size_t accepted = 0;

	SAMPLE();
	for (size_t len = 0; len < sample.size; len++) {
		int rc = try_open(sample.image, len, &img, err, sizeof(err));
		if (rc == 0) {
			if (!accepted++)
				printf("\n  truncated to %zu bytes: accepted\n",
				       len);
			ditto_image_free(img);
		} else if (!err[0] && !accepted++) {
			printf("\n  truncated to %zu: refused without a message\n",
			       len);
		}
	}
	CU_ASSERT_EQUAL(accepted, 0);
}

/* End of the last section: bytes past it may be padding. */
static size_t sections_end(uint8_t *m)
{
	size_t end = sizeof(struct ditto_image_hdr);

	for (int i = 0; i < DITTO_SECT_COUNT; i++) {
		struct ditto_image_section *s = &hdr_of(m)->sections[i];
		if (s->id && (size_t)s->offset + s->size > end)
			end = (size_t)s->offset + s->size;
	}
	return end;
}

static void test_image_refuses_truncation_with_size_and_checksum_fixed(void)
{
	struct ditto_image *img;
	char err[256];
	size_t accepted = 0;

	SAMPLE();
	uint8_t *m = copy_sample();
	size_t end = sections_end(m);
	for (size_t len = sizeof(struct ditto_image_hdr); len < end; len++) {
		memcpy(m, sample.image, sample.size);
		hdr_of(m)->size = len;
		reseal(m, len);
		if (try_open(m, len, &img, err, sizeof(err)) == 0) {
			if (!accepted++)
				printf("\n  cut to %zu of %zu with size and "
				       "checksum fixed: accepted\n", len, end);
			ditto_image_free(img);
		}
	}
	CU_ASSERT_EQUAL(accepted, 0);
	free(m);
}

/* Open a copy of m in a child process, so a loader that crashes on it
 * fails one test instead of ending the program. Returns the loader's
 * result, or 1 when the child died. */
static int open_isolated(const uint8_t *m, size_t size, char *err,
			 size_t errlen)
{
	struct {
		int rc;
		char err[256];
	} *res = mmap(NULL, sizeof(*res), PROT_READ | PROT_WRITE,
		      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	struct ditto_image *img;
	int status = 0, rc;

	if (res == MAP_FAILED)
		return 1;
	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	if (pid == 0) {
		res->rc = try_open(m, size, &img, res->err, sizeof(res->err));
		if (res->rc == 0)
			ditto_image_free(img);
		_exit(0);
	}
	waitpid(pid, &status, 0);
	if (pid > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		rc = res->rc;
		snprintf(err, errlen, "%s", res->err);
	} else {
		rc = 1;
		snprintf(err, errlen, "the loader crashed (%s %d)",
			 WIFSIGNALED(status) ? "signal" : "exit status",
			 WIFSIGNALED(status) ? WTERMSIG(status)
					     : WEXITSTATUS(status));
	}
	munmap(res, sizeof(*res));
	return rc;
}

/* Damage a copy of the sample with fix, optionally reseal, and expect the
 * loader to refuse it with want (0 = any error). */
static void expect_refused(void (*fix)(uint8_t *m), bool seal, int want,
			   const char *what)
{
	char err[256];

	SAMPLE();
	uint8_t *m = copy_sample();
	fix(m);
	if (seal)
		reseal(m, sample.size);
	int rc = open_isolated(m, sample.size, err, sizeof(err));
	if (rc == 0)
		printf("\n  %s: accepted\n", what);
	else if (rc > 0)
		printf("\n  %s: %s\n", what, err);
	else if ((want && rc != want) || !err[0])
		printf("\n  %s: refused with %d (%s) \"%s\", want %d (%s)\n",
		       what, rc, ditto_strerror(rc), err, want,
		       ditto_strerror(want));
	CU_ASSERT_TRUE(rc < 0);
	if (want)
		CU_ASSERT_EQUAL(rc, want);
	CU_ASSERT_TRUE(err[0] != 0);
	free(m);
}

static void fix_magic(uint8_t *m) { m[0] ^= 0x20; }
static void fix_version(uint8_t *m) { hdr_of(m)->version++; }
static void fix_endian(uint8_t *m)
{
	hdr_of(m)->endian = __builtin_bswap32(DITTO_IMAGE_ENDIAN);
}
static void fix_last_byte(uint8_t *m) { m[sample.size - 1] ^= 1; }
static void fix_checksum(uint8_t *m) { hdr_of(m)->checksum ^= 1u << 20; }
static void fix_hdr_size(uint8_t *m) { hdr_of(m)->hdr_size += 4; }
static void fix_size_larger(uint8_t *m) { hdr_of(m)->size += 4; }
static void fix_size_smaller(uint8_t *m) { hdr_of(m)->size -= 4; }

static void test_image_refuses_bad_magic(void)
{
	expect_refused(fix_magic, true, DITTO_EMAGIC, "bad magic");
}

static void test_image_refuses_unknown_version(void)
{
	expect_refused(fix_version, true, DITTO_EVERSION, "version + 1");
}

static void test_image_refuses_foreign_byte_order(void)
{
	expect_refused(fix_endian, true, DITTO_EVERSION, "byte-swapped marker");
}

static void test_image_refuses_bad_checksum(void)
{
	expect_refused(fix_last_byte, false, DITTO_ECHECKSUM, "last byte flipped");
	expect_refused(fix_checksum, false, DITTO_ECHECKSUM, "checksum flipped");
}

static void test_image_refuses_header_size_mismatch(void)
{
	expect_refused(fix_hdr_size, true, 0, "hdr_size + 4");
	expect_refused(fix_size_larger, true, 0, "size field + 4");
	expect_refused(fix_size_smaller, true, 0, "size field - 4");
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t rng(void)
{
	return rng_next(&rng_state);
}

static void test_image_refuses_random_byte_flips_without_reseal(void)
{
	struct ditto_image *img;
	char err[256];
	unsigned accepted = 0;

	SAMPLE();
	uint8_t *m = copy_sample();
	for (int i = 0; i < 2000; i++) {
		memcpy(m, sample.image, sample.size);
		size_t pos = rng() % sample.size;
		m[pos] ^= (uint8_t)(1u << (rng() % 8));
		if (try_open(m, sample.size, &img, err, sizeof(err)) == 0) {
			if (!accepted++)
				printf("\n  flip at %zu accepted\n", pos);
			ditto_image_free(img);
		}
	}
	CU_ASSERT_EQUAL(accepted, 0);
	free(m);
}

/* Where byte pos of the sample image lies, in the terms of image.h. */
static void describe(size_t pos, char *out, size_t cap)
{
	static const struct {
		size_t off, len;
		const char *name;
	} hdr_fields[] = {
#define F(f) { offsetof(struct ditto_image_hdr, f),                           \
	       sizeof(((struct ditto_image_hdr *)0)->f), #f }
		F(magic), F(endian), F(version), F(hdr_size), F(size),
		F(checksum), F(seed), F(serial), F(flags), F(node_count),
		F(index_mask), F(soa_negative), F(reserved), F(apex_len),
		F(apex_labels), F(pad), F(apex), F(sections),
#undef F
	};
	static const struct {
		uint32_t id;
		const char *name;
		size_t elem;
	} sects[] = {
		{ DITTO_SECT_NODES, "node", sizeof(struct ditto_node) },
		{ DITTO_SECT_INDEX, "slot", sizeof(struct ditto_slot) },
		{ DITTO_SECT_NAMES, "names", 1 },
		{ DITTO_SECT_RRSETS, "rrset", sizeof(struct ditto_rrset) },
		{ DITTO_SECT_BLOCKS, "blocks", 1 },
	};
	uint8_t *m = sample.image;

	for (size_t i = 0; i < sizeof(hdr_fields) / sizeof(hdr_fields[0]); i++)
		if (pos >= hdr_fields[i].off &&
		    pos < hdr_fields[i].off + hdr_fields[i].len) {
			snprintf(out, cap, "header.%s+%zu", hdr_fields[i].name,
				 pos - hdr_fields[i].off);
			return;
		}
	for (size_t i = 0; i < sizeof(sects) / sizeof(sects[0]); i++) {
		struct ditto_image_section *sc = section_of(m, sects[i].id);
		if (!sc || pos < sc->offset || pos >= sc->offset + sc->size)
			continue;
		size_t rel = pos - sc->offset;
		if (sects[i].elem == 1)
			snprintf(out, cap, "%s+%zu", sects[i].name, rel);
		else
			snprintf(out, cap, "%s[%zu]+%zu", sects[i].name,
				 rel / sects[i].elem, rel % sects[i].elem);
		return;
	}
	snprintf(out, cap, "byte %zu (outside every section)", pos);
}

/* Shared with the child that answers from damaged images, so the parent
 * can name the damage after a crash: the round being answered and the
 * bytes that differ from the sample. */
struct damage_note {
	int round;
	unsigned opened;
	char text[4000];
};
static struct damage_note *note;

static void note_damage(int round, const uint8_t *m)
{
	size_t o = 0;
	char where[96];

	note->round = round;
	note->text[0] = 0;
	for (size_t i = 0; i < sample.size && o < sizeof(note->text) - 100; i++)
		if (m[i] != sample.image[i] &&
		    (i < offsetof(struct ditto_image_hdr, checksum) ||
		     i >= offsetof(struct ditto_image_hdr, seed))) {
			describe(i, where, sizeof(where));
			o += (size_t)snprintf(note->text + o,
					      sizeof(note->text) - o,
					      "    %s: %02x -> %02x\n", where,
					      sample.image[i], m[i]);
		}
}

/* Rounds [0, rounds) of damage from a fixed PRNG; those before first are
 * generated but not answered from (they were, by an earlier child). */
static void damage_loop(int first, int rounds)
{
	struct ditto_image *img;
	char err[256];
	uint64_t st = 0x0ddba11c0ffee000ULL;
	uint8_t *m = copy_sample();

#define RNG() (st ^= st >> 12, st ^= st << 25, st ^= st >> 27,         \
	       st * 0x2545f4914f6cdd1dULL)
	for (int i = 0; i < rounds; i++) {
		memcpy(m, sample.image, sample.size);
		int flips = 1 + (int)(RNG() % 4);
		for (int f = 0; f < flips; f++) {
			size_t pos = RNG() % sample.size;
			if (RNG() & 1)
				m[pos] ^= (uint8_t)(1u << (RNG() % 8));
			else
				m[pos] = (uint8_t)RNG();
		}
		if (i < first)
			continue;
		reseal(m, sample.size);
		if (try_open(m, sample.size, &img, err, sizeof(err)) == 0) {
			note->opened++;
			note_damage(i, m);
			exercise(img);
			ditto_image_free(img);
		}
	}
#undef RNG
	free(m);
}

static void test_image_resealed_random_damage_is_refused_or_safe(void)
{
	enum { ROUNDS = 3000, MAX_CRASHES = 5 };
	int crashes = 0, first = 0;

	SAMPLE();
	/* Rounds run in a child, so a crash in the answer path fails this
	 * test naming the damage, and later rounds and tests still run. */
	note = mmap(NULL, sizeof(*note), PROT_READ | PROT_WRITE,
		    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	CU_ASSERT_FATAL(note != MAP_FAILED);
	memset(note, 0, sizeof(*note));
	while (first < ROUNDS && crashes < MAX_CRASHES) {
		fflush(stdout);
		fflush(stderr);
		pid_t pid = fork();
		CU_ASSERT_FATAL(pid >= 0);
		if (pid == 0) {
			damage_loop(first, ROUNDS);
			fflush(stdout);
			_exit(CU_get_number_of_failures() ? 1 : 0);
		}
		int status = 0;
		waitpid(pid, &status, 0);
		if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
			break;
		crashes++;
		printf("\n  round %d: answering from a damaged image the loader "
		       "accepted %s %d; it differed from the sample in:\n%s",
		       note->round, WIFSIGNALED(status) ? "died with signal"
							: "exited with",
		       WIFSIGNALED(status) ? WTERMSIG(status)
					   : WEXITSTATUS(status), note->text);
		first = note->round + 1;
	}
	printf("\n  %u damaged images (of %d) opened and were answered from; "
	       "%d crashed%s\n", note->opened, ROUNDS, crashes,
	       crashes == MAX_CRASHES ? " (stopped looking)" : "");
	CU_ASSERT_EQUAL(crashes, 0);
	munmap(note, sizeof(*note));
}

/* ---- hostile images: valid checksum, one structure wrong ---------------- */

/* The first RRset with an additional-section block, and its node. */
static uint32_t rrset_with_extra(uint8_t *m)
{
	uint32_t n = section_of(m, DITTO_SECT_RRSETS)->count;

	for (uint32_t i = 0; i < n; i++)
		if (rrset_at(m, i)->extra != DITTO_NONE)
			return i;
	return 0;
}

/* Offset of the first block with a fix-up. */
static uint32_t block_with_fixup(uint8_t *m)
{
	uint32_t n = section_of(m, DITTO_SECT_RRSETS)->count;

	for (uint32_t i = 0; i < n; i++)
		if (block_at(m, rrset_at(m, i)->block)->fixup_count)
			return rrset_at(m, i)->block;
	return 0;
}

/* A node (not the apex) with at least two RRsets. */
static uint32_t node_with_rrsets(uint8_t *m)
{
	uint32_t n = hdr_of(m)->node_count;

	for (uint32_t i = 1; i < n; i++)
		if (node_at(m, i)->rrset_count >= 2)
			return i;
	return 1;
}

/* A node below the apex with data but no CNAME, DNAME, delegation or
 * wildcard: an ordinary name. */
static uint32_t plain_node(uint8_t *m)
{
	uint32_t n = hdr_of(m)->node_count;

	for (uint32_t i = 1; i < n; i++)
		if (node_at(m, i)->flags == 0 && node_at(m, i)->rrset_count)
			return i;
	return 1;
}

static struct ditto_rrset *apex_ns(uint8_t *m)
{
	struct ditto_node *apex = node_at(m, 0);

	for (uint32_t i = 0; i < apex->rrset_count; i++)
		if (rrset_at(m, apex->rrsets + i)->type == DNS_T_NS)
			return rrset_at(m, apex->rrsets + i);
	return rrset_at(m, apex->rrsets);
}

/* The DNAME RRset of the first node that owns one. */
static struct ditto_rrset *first_dname(uint8_t *m)
{
	uint32_t n = section_of(m, DITTO_SECT_RRSETS)->count;

	for (uint32_t i = 0; i < n; i++)
		if (rrset_at(m, i)->type == DNS_T_DNAME)
			return rrset_at(m, i);
	return rrset_at(m, 0);
}

static uint32_t first_used_slot(uint8_t *m)
{
	for (uint32_t i = 0;; i++) {
		struct ditto_slot *s = at(m, DITTO_SECT_INDEX,
					  i * sizeof(struct ditto_slot));
		if (s->node != DITTO_NONE)
			return i;
	}
}

#define SECT(id) section_of(m, DITTO_SECT_##id)
#define NODE(i) node_at(m, (i))
/* Each hostile image is its own test: its name says which check is
 * missing from the loader when it fails. */
#define HOSTILE(name, ...)                                                    \
	static void hostile_##name(uint8_t *m) { __VA_ARGS__; }              \
	static void test_image_refuses_hostile_##name(void)                   \
	{                                                                     \
		expect_refused(hostile_##name, true, 0, #name);               \
	}

HOSTILE(section_past_end, SECT(BLOCKS)->offset = (uint32_t)sample.size)
HOSTILE(section_size_wraps,
	SECT(BLOCKS)->size = 0xffffffffu - SECT(BLOCKS)->offset + 17)
HOSTILE(section_misaligned, SECT(RRSETS)->offset += 2)
HOSTILE(nodes_section_missing, SECT(NODES)->id = 0)
HOSTILE(names_section_missing, SECT(NAMES)->id = 0)
HOSTILE(section_duplicated, SECT(NAMES)->id = DITTO_SECT_BLOCKS)
HOSTILE(sections_overlap, SECT(INDEX)->offset = SECT(NODES)->offset)
HOSTILE(node_count_exceeds_section, hdr_of(m)->node_count += 1)
HOSTILE(node_section_count_exceeds_size, SECT(NODES)->count += 1)
HOSTILE(index_mask_mismatch,
	hdr_of(m)->index_mask = hdr_of(m)->index_mask * 2 + 1)
HOSTILE(index_mask_not_power_of_two_minus_one, hdr_of(m)->index_mask -= 1)
HOSTILE(index_slot_node_out_of_range,
	((struct ditto_slot *)at(m, DITTO_SECT_INDEX,
				 first_used_slot(m) *
				 sizeof(struct ditto_slot)))->node =
		hdr_of(m)->node_count)
HOSTILE(node_name_past_names, NODE(1)->name = SECT(NAMES)->size)
HOSTILE(node_name_runs_off_names, NODE(1)->name = SECT(NAMES)->size - 2)
HOSTILE(node_name_len_too_short, NODE(1)->name_len -= 1)
HOSTILE(node_name_len_too_long, NODE(1)->name_len += 1)
HOSTILE(node_name_malformed,
	((uint8_t *)at(m, DITTO_SECT_NAMES, NODE(1)->name))[0] = 64)
HOSTILE(node_labels_wrong, NODE(1)->labels += 1)
HOSTILE(node_parent_out_of_range, NODE(1)->parent = hdr_of(m)->node_count)
HOSTILE(node_parent_is_itself, NODE(1)->parent = 1)
HOSTILE(apex_has_parent, NODE(0)->parent = 1)
HOSTILE(node_cut_out_of_range, NODE(1)->cut = hdr_of(m)->node_count + 5)
/* The delegated node's cut moved to another node that owns a DNAME at no
 * greater depth: in range, flagged, shallow enough, but not an ancestor, so
 * the DNAME block placed for that name would answer for this one. */
static void cut_at_unrelated_node(uint8_t *m)
{
	uint32_t n = hdr_of(m)->node_count, deleg = 0, other = 0;

	for (uint32_t i = 1; i < n; i++)
		if ((NODE(i)->flags & DITTO_NODE_DELEG) && NODE(i)->cut == i)
			deleg = deleg ? deleg : i;
	for (uint32_t i = 1; i < n; i++)
		if ((NODE(i)->flags & DITTO_NODE_DNAME) &&
		    NODE(i)->labels <= NODE(deleg)->labels)
			other = other ? other : i;
	CU_ASSERT_TRUE_FATAL(deleg && other);
	NODE(deleg)->cut = other;
}
HOSTILE(node_cut_is_not_an_ancestor, cut_at_unrelated_node(m))
HOSTILE(node_wildcard_out_of_range,
	NODE(0)->wildcard = hdr_of(m)->node_count)
HOSTILE(node_rrsets_past_section,
	NODE(1)->rrsets = SECT(RRSETS)->count - 1;
	NODE(1)->rrset_count = 2)
HOSTILE(node_rrset_count_huge, NODE(1)->rrset_count = 0xffff)
HOSTILE(rrset_block_past_blocks,
	rrset_at(m, 0)->block = SECT(BLOCKS)->size)
HOSTILE(rrset_block_misaligned, rrset_at(m, 0)->block += 2)
HOSTILE(rrset_block_do_past_blocks,
	rrset_at(m, 0)->block_do = SECT(BLOCKS)->size + 64)
HOSTILE(rrset_extra_past_blocks,
	rrset_at(m, rrset_with_extra(m))->extra = SECT(BLOCKS)->size - 4)
HOSTILE(rrsets_not_sorted_by_type,
	{
		struct ditto_node *n = NODE(node_with_rrsets(m));
		struct ditto_rrset t = *rrset_at(m, n->rrsets);
		*rrset_at(m, n->rrsets) = *rrset_at(m, n->rrsets + 1);
		*rrset_at(m, n->rrsets + 1) = t;
	})
/* An RRset of type ANY (a question type: the compiler never writes one)
 * at a node whose other types sort below it, so only the type is wrong. */
static void meta_rrset(uint8_t *m)
{
	struct ditto_node *n = NODE(plain_node(m));

	rrset_at(m, n->rrsets + n->rrset_count - 1u)->type = DNS_T_ANY;
}

static void test_image_refuses_rrset_of_meta_type(void)
{
	char err[256];

	SAMPLE();
	uint8_t *m = copy_sample();
	struct ditto_node *n = NODE(plain_node(m));
	CU_ASSERT_TRUE_FATAL(rrset_at(m, n->rrsets + n->rrset_count - 1u)->type <
			     DNS_T_ANY);
	meta_rrset(m);
	reseal(m, sample.size);
	int rc = open_isolated(m, sample.size, err, sizeof(err));
	if (rc != DITTO_ECORRUPT || !strstr(err, "meta type 255"))
		printf("\n  rc=%d \"%s\"\n", rc, rc ? err : "accepted");
	CU_ASSERT_EQUAL(rc, DITTO_ECORRUPT);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "meta type 255"));
	free(m);
}

/* The first placed RRset whose block has a fix-up. */
static struct ditto_rrset *placed_with_fixup(uint8_t *m)
{
	uint32_t n = section_of(m, DITTO_SECT_RRSETS)->count;

	for (uint32_t i = 0; i < n; i++)
		if ((rrset_at(m, i)->flags & DITTO_RRSET_PLACED) &&
		    block_at(m, rrset_at(m, i)->block)->fixup_count)
			return rrset_at(m, i);
	return rrset_at(m, 0);
}

/* The first RRset of the first wildcard node. */
static struct ditto_rrset *wildcard_rrset(uint8_t *m)
{
	for (uint32_t i = 1; i < hdr_of(m)->node_count; i++)
		if ((NODE(i)->flags & DITTO_NODE_WILDCARD) &&
		    NODE(i)->rrset_count)
			return rrset_at(m, NODE(i)->rrsets);
	return rrset_at(m, 0);
}

static void test_image_sample_has_placed_and_unplaced_rrsets(void)
{
	SAMPLE();
	uint8_t *m = copy_sample();
	CU_ASSERT_TRUE(placed_with_fixup(m)->flags & DITTO_RRSET_PLACED);
	CU_ASSERT_FALSE(wildcard_rrset(m)->flags & DITTO_RRSET_PLACED);
	free(m);
}

HOSTILE(placed_slot_holds_another_pointer,
	{
		struct ditto_block *b = block_at(m, placed_with_fixup(m)->block);
		uint8_t *d = (uint8_t *)(b + 1) +
			     b->fixup_count * sizeof(struct ditto_fixup);
		d[ditto_block_fixups(b)[0].pos + 1] ^= 1;
	})
HOSTILE(placed_flag_on_a_wildcard,
	wildcard_rrset(m)->flags |= DITTO_RRSET_PLACED)
HOSTILE(block_len_past_blocks,
	block_at(m, rrset_at(m, 0)->block)->len = 0xffff)
HOSTILE(block_fixup_count_huge,
	block_at(m, rrset_at(m, 0)->block)->fixup_count = 0x7fff)
HOSTILE(fixup_pos_past_block_data,
	{
		struct ditto_block *b = block_at(m, block_with_fixup(m));
		((struct ditto_fixup *)(b + 1))[0].pos = (uint16_t)(b->len - 1);
	})
HOSTILE(fixup_self_target_past_block_data,
	{
		struct ditto_block *b = block_at(m, block_with_fixup(m));
		((struct ditto_fixup *)(b + 1))[0].code =
			DITTO_FIX_CODE(DITTO_FIX_SELF, b->len + 10u);
	})
HOSTILE(block_target_past_block_data,
	block_at(m, rrset_at(m, 0)->block)->target = 0xfff0)
HOSTILE(soa_negative_past_blocks,
	hdr_of(m)->soa_negative = SECT(BLOCKS)->size + 8)
HOSTILE(node_cname_flag_without_cname_rrset,
	NODE(plain_node(m))->flags |= DITTO_NODE_CNAME)
HOSTILE(node_dname_flag_without_dname_rrset,
	NODE(plain_node(m))->flags |= DITTO_NODE_DNAME)
HOSTILE(node_deleg_flag_without_ns_rrset,
	NODE(plain_node(m))->flags |= DITTO_NODE_DELEG)
HOSTILE(node_cut_to_node_without_ns_or_dname,
	NODE(plain_node(m))->cut = plain_node(m) + 1)
HOSTILE(node_wildcard_to_node_not_wildcard,
	NODE(0)->wildcard = plain_node(m))
/* Wire data inside a block: the first RR of the apex NS RRset is
 * owner pointer (2), type, class, TTL, rdlength (10), then the target. */
HOSTILE(block_rdata_name_malformed,
	block_data(block_at(m, apex_ns(m)->block))[12] = 0x8a)
HOSTILE(block_rdlength_past_block,
	block_data(block_at(m, apex_ns(m)->block))[11] += 60)
HOSTILE(block_rr_count_wrong,
	block_at(m, apex_ns(m)->block)->rr_count += 1)
/* The parent's name is compared before that node's own name was
 * checked: a later node as parent, its name offset far outside. */
HOSTILE(node_parent_later_with_name_outside_names,
	{
		uint32_t last = hdr_of(m)->node_count - 1;
		struct ditto_node *c = NODE(1), *p = NODE(c->parent);
		struct ditto_node *d = NODE(last);
		d->name_len = p->name_len;
		d->labels = p->labels;
		d->name = 0x7ffffff0u;
		c->parent = last;
	})
/* The DNAME target is an uncompressed name the answer path walks
 * label by label: a label running past the block must be refused. */
HOSTILE(block_dname_target_runs_off_block,
	{
		struct ditto_block *b = block_at(m, first_dname(m)->block);
		block_data(b)[b->target] = 63;
	})
/* A target that starts inside a fix-up slot (the owner pointer): well
 * formed in the block, but the copy in a response holds the completed
 * pointer there, so the walk in the response runs wild. */
HOSTILE(block_dname_target_overlaps_fixup,
	{
		struct ditto_block *b = block_at(m, first_dname(m)->block);
		uint8_t *d = block_data(b);
		b->target = (uint16_t)(((struct ditto_fixup *)(void *)(b + 1))
				       ->pos + 1);
		d[b->target] = (uint8_t)(b->len - 2 - b->target);
	})
HOSTILE(apex_name_malformed, hdr_of(m)->apex[0] = 70)
HOSTILE(apex_len_wrong, hdr_of(m)->apex_len += 1)
HOSTILE(apex_differs_from_node_zero, hdr_of(m)->apex[1] ^= 1)

static void test_image_load_file_reads_and_refuses_missing_file(void)
{
	struct ditto_image *img = NULL;
	char err[256] = "", path[] = "/tmp/ditto-image-XXXXXX";

	SAMPLE();
	int fd = mkstemp(path);
	CU_ASSERT_TRUE_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(write(fd, sample.image, sample.size),
			(ssize_t)sample.size);
	close(fd);
	int rc = ditto_image_load_file(path, &img, err, sizeof(err));
	if (rc < 0)
		printf("\n  %s\n", err);
	CU_ASSERT_EQUAL(rc, 0);
	if (rc == 0) {
		CU_ASSERT_EQUAL(img->hdr->serial, 2024010101u);
		ditto_image_free(img);
	}
	/* an empty file is a truncated image */
	fd = open(path, O_WRONLY | O_TRUNC);
	close(fd);
	err[0] = 0;
	CU_ASSERT_TRUE(ditto_image_load_file(path, &img, err, sizeof(err)) < 0);
	CU_ASSERT_TRUE(err[0] != 0);
	unlink(path);
	err[0] = 0;
	CU_ASSERT_TRUE(ditto_image_load_file("/nonexistent/ditto.img", &img,
					     err, sizeof(err)) < 0);
	CU_ASSERT_TRUE(err[0] != 0);
}

int main(void)
{
	static const struct h_test tests[] = {
#define T(fn) { #fn, fn }
		T(test_image_compiled_sample_opens),
		T(test_image_find_locates_every_node_and_nothing_else),
		T(test_image_refuses_every_truncation),
		T(test_image_refuses_truncation_with_size_and_checksum_fixed),
		T(test_image_refuses_bad_magic),
		T(test_image_refuses_unknown_version),
		T(test_image_refuses_foreign_byte_order),
		T(test_image_refuses_bad_checksum),
		T(test_image_refuses_header_size_mismatch),
		T(test_image_refuses_random_byte_flips_without_reseal),
		T(test_image_resealed_random_damage_is_refused_or_safe),
		T(test_image_refuses_hostile_section_past_end),
		T(test_image_refuses_hostile_section_size_wraps),
		T(test_image_refuses_hostile_section_misaligned),
		T(test_image_refuses_hostile_nodes_section_missing),
		T(test_image_refuses_hostile_names_section_missing),
		T(test_image_refuses_hostile_section_duplicated),
		T(test_image_refuses_hostile_sections_overlap),
		T(test_image_refuses_hostile_node_count_exceeds_section),
		T(test_image_refuses_hostile_node_section_count_exceeds_size),
		T(test_image_refuses_hostile_index_mask_mismatch),
		T(test_image_refuses_hostile_index_mask_not_power_of_two_minus_one),
		T(test_image_refuses_hostile_index_slot_node_out_of_range),
		T(test_image_refuses_hostile_node_name_past_names),
		T(test_image_refuses_hostile_node_name_runs_off_names),
		T(test_image_refuses_hostile_node_name_len_too_short),
		T(test_image_refuses_hostile_node_name_len_too_long),
		T(test_image_refuses_hostile_node_name_malformed),
		T(test_image_refuses_hostile_node_labels_wrong),
		T(test_image_refuses_hostile_node_parent_out_of_range),
		T(test_image_refuses_hostile_node_parent_is_itself),
		T(test_image_refuses_hostile_apex_has_parent),
		T(test_image_refuses_hostile_node_cut_out_of_range),
		T(test_image_refuses_hostile_node_wildcard_out_of_range),
		T(test_image_refuses_hostile_node_rrsets_past_section),
		T(test_image_refuses_hostile_node_rrset_count_huge),
		T(test_image_refuses_hostile_rrset_block_past_blocks),
		T(test_image_refuses_hostile_rrset_block_misaligned),
		T(test_image_refuses_hostile_rrset_block_do_past_blocks),
		T(test_image_refuses_hostile_rrset_extra_past_blocks),
		T(test_image_refuses_hostile_rrsets_not_sorted_by_type),
		T(test_image_refuses_rrset_of_meta_type),
		T(test_image_sample_has_placed_and_unplaced_rrsets),
		T(test_image_refuses_hostile_placed_slot_holds_another_pointer),
		T(test_image_refuses_hostile_placed_flag_on_a_wildcard),
		T(test_image_refuses_hostile_node_cut_is_not_an_ancestor),
		T(test_image_refuses_hostile_block_len_past_blocks),
		T(test_image_refuses_hostile_block_fixup_count_huge),
		T(test_image_refuses_hostile_fixup_pos_past_block_data),
		T(test_image_refuses_hostile_fixup_self_target_past_block_data),
		T(test_image_refuses_hostile_block_target_past_block_data),
		T(test_image_refuses_hostile_soa_negative_past_blocks),
		T(test_image_refuses_hostile_node_cname_flag_without_cname_rrset),
		T(test_image_refuses_hostile_node_dname_flag_without_dname_rrset),
		T(test_image_refuses_hostile_node_deleg_flag_without_ns_rrset),
		T(test_image_refuses_hostile_node_cut_to_node_without_ns_or_dname),
		T(test_image_refuses_hostile_node_wildcard_to_node_not_wildcard),
		T(test_image_refuses_hostile_block_rdata_name_malformed),
		T(test_image_refuses_hostile_block_rdlength_past_block),
		T(test_image_refuses_hostile_block_rr_count_wrong),
		T(test_image_refuses_hostile_node_parent_later_with_name_outside_names),
		T(test_image_refuses_hostile_block_dname_target_runs_off_block),
		T(test_image_refuses_hostile_block_dname_target_overlaps_fixup),
		T(test_image_refuses_hostile_apex_name_malformed),
		T(test_image_refuses_hostile_apex_len_wrong),
		T(test_image_refuses_hostile_apex_differs_from_node_zero),
		T(test_image_load_file_reads_and_refuses_missing_file),
#undef T
	};
	int rc = h_run("image", tests, sizeof(tests) / sizeof(tests[0]));
	ditto_compiled_free(&sample);
	return rc;
}
