/* The journal of differences: differences computed between two contents,
 * the chain a journal keeps and trims, and its file (round trip, and every
 * kind of damage refused). */
#include <CUnit/CUnit.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ldns/ldns.h>

#include "contents.h"
#include "ditto/error.h"
#include "ditto/hash.h"
#include "ditto/wire.h"
#include "helpers.h"
#include "journal.h"
#include "sample_zone.h"

static const uint8_t APEX[] = "\7example\3com";
#define APEX_LEN 13

/* A record from presentation text (static storage, 64 slots). */
static const struct ditto_wire_rr *rr(const char *text)
{
	const struct ditto_wire_rr *w = sample_wire_rr(text);

	CU_ASSERT_PTR_NOT_NULL_FATAL(w);
	return w;
}

static char *soa_text(uint32_t serial)
{
	static char buf[200];

	snprintf(buf, sizeof(buf), "example.com. 3600 IN SOA ns.example.com. "
		 "h.example.com. %u 3600 600 86400 300", serial);
	return buf;
}

static struct contents *zone(uint32_t serial, const char *const *recs)
{
	struct contents *c = contents_new(APEX, APEX_LEN);

	CU_ASSERT_FATAL(c != NULL);
	CU_ASSERT_FATAL(contents_add(c, rr(soa_text(serial)), 0) == 0);
	for (; *recs; recs++)
		CU_ASSERT_FATAL(contents_add(c, rr(*recs), 0) == 0);
	return c;
}

static const char *const base[] = {
	"example.com. 3600 IN NS ns.example.com.",
	"ns.example.com. 3600 IN A 192.0.2.1",
	"www.example.com. 300 IN A 192.0.2.10",
	"www.example.com. 300 IN A 192.0.2.11",
	"mail.example.com. 300 IN MX 10 mx.example.com.",
	NULL,
};

/* Apply d to a copy of c the way a downstream applies IXFR. */
static struct contents *apply(const struct contents *c, const struct jdiff *d)
{
	struct contents *n = contents_clone(c);
	struct ditto_wire_rr w;
	size_t pos = 0;
	bool del;

	while (jdiff_next(d, &pos, &w, &del) > 0) {
		int rc = del ? contents_delete(n, &w) : contents_add(n, &w, 0);

		CU_ASSERT(rc == 0);
	}
	return n;
}

/* Whether a and b hold the same records with the same TTLs. */
static bool same(struct contents *a, struct contents *b)
{
	bool too_big;
	struct jdiff *d = jdiff_between(a, b, 0, &too_big);
	bool eq;

	CU_ASSERT_FATAL(d != NULL);
	/* Only the two SOAs when nothing else differs. */
	eq = jdiff_bytes(d) == 20 + 2 * (1 + APEX_LEN + 10 +
					 rr(soa_text(1))->rdlen) &&
	     contents_count(a) == contents_count(b);
	jdiff_put(d);
	return eq;
}

static void test_between(void)
{
	static const char *const next[] = {
		"example.com. 3600 IN NS ns.example.com.",
		"ns.example.com. 3600 IN A 192.0.2.1",
		"www.example.com. 300 IN A 192.0.2.10",
		"www.example.com. 300 IN A 192.0.2.12",	/* .11 -> .12 */
		"mail.example.com. 600 IN MX 10 mx.example.com.", /* TTL */
		"new.example.com. 300 IN TXT \"hello\"",
		NULL,
	};
	struct contents *a = zone(1, base), *b = zone(2, next), *c;
	bool too_big;
	struct jdiff *d = jdiff_between(a, b, 0, &too_big);
	struct ditto_wire_rr w;
	size_t pos = 0;
	unsigned ndel = 0, nadd = 0;
	bool del;

	CU_ASSERT_FATAL(d != NULL);
	CU_ASSERT_EQUAL(jdiff_from(d), 1);
	CU_ASSERT_EQUAL(jdiff_to(d), 2);
	while (jdiff_next(d, &pos, &w, &del) > 0) {
		if ((del ? ndel : nadd) == 0)
			CU_ASSERT_EQUAL(w.type, DNS_T_SOA);	/* SOA first */
		if (del) {
			CU_ASSERT_EQUAL(nadd, 0);	/* deletions first */
			ndel++;
		} else {
			nadd++;
		}
	}
	CU_ASSERT_EQUAL(ndel, 3);	/* SOA 1, .11, MX 300 */
	CU_ASSERT_EQUAL(nadd, 4);	/* SOA 2, .12, MX 600, TXT */
	c = apply(a, d);
	CU_ASSERT(same(c, b));
	jdiff_put(d);

	/* Too big for the bound: no difference, and said so. */
	d = jdiff_between(a, b, 60, &too_big);
	CU_ASSERT(d == NULL);
	CU_ASSERT(too_big);
	contents_free(a);
	contents_free(b);
	contents_free(c);
}

/* A difference from serial to serial + 1 adding one TXT record. */
static struct jdiff *step(uint32_t from, uint32_t to, const char *txt)
{
	struct jdiff *d = jdiff_new(from, to);
	char line[200];

	CU_ASSERT_FATAL(jdiff_push(d, true, rr(soa_text(from))) == 0);
	CU_ASSERT_FATAL(jdiff_push(d, false, rr(soa_text(to))) == 0);
	snprintf(line, sizeof(line), "t.example.com. 300 IN TXT \"%s\"", txt);
	CU_ASSERT_FATAL(jdiff_push(d, false, rr(line)) == 0);
	/* No deletion after an addition. */
	CU_ASSERT(jdiff_push(d, true, rr(line)) == DITTO_EINVAL);
	return d;
}

static void test_chain(void)
{
	struct journal *j = journal_new(), *n;
	size_t one;
	uint32_t first;

	for (uint32_t s = 1; s <= 5; s++) {
		n = journal_with(j, step(s, s + 1, "x"), 1 << 20);
		CU_ASSERT_FATAL(n != NULL);
		journal_free(j);
		j = n;
	}
	CU_ASSERT_EQUAL(journal_count(j), 5);
	CU_ASSERT(journal_first(j, &first) && first == 1);
	CU_ASSERT_EQUAL(journal_find(j, 1), 0);
	CU_ASSERT_EQUAL(journal_find(j, 4), 3);
	CU_ASSERT_EQUAL(journal_find(j, 6), -1);	/* current: nothing */
	CU_ASSERT_EQUAL(journal_find(j, 77), -1);
	one = journal_bytes(j) / 5;

	/* A bound of three differences drops the two oldest. */
	n = journal_with(j, step(6, 7, "x"), 3 * one);
	CU_ASSERT_FATAL(n != NULL);
	CU_ASSERT_EQUAL(journal_count(n), 3);
	CU_ASSERT(journal_first(n, &first) && first == 4);
	CU_ASSERT(journal_bytes(n) <= 3 * one);
	/* The old journal is untouched and still valid (shared diffs). */
	CU_ASSERT_EQUAL(journal_count(j), 5);
	journal_free(j);
	j = n;

	/* A difference that does not begin at the end starts again. */
	n = journal_with(j, step(100, 101, "y"), 1 << 20);
	CU_ASSERT_EQUAL(journal_count(n), 1);
	CU_ASSERT(journal_first(n, &first) && first == 100);
	journal_free(j);
	j = n;

	/* One that goes nowhere (or backwards): empty. */
	n = journal_with(j, step(101, 101, "w"), 1 << 20);
	CU_ASSERT_EQUAL(journal_count(n), 0);
	journal_free(n);
	n = journal_with(j, step(101, 50, "w"), 1 << 20);
	CU_ASSERT_EQUAL(journal_count(n), 0);
	journal_free(n);

	/* One larger than the bound: the journal is empty. */
	n = journal_with(j, step(101, 102, "z"), 10);
	CU_ASSERT_EQUAL(journal_count(n), 0);
	CU_ASSERT_EQUAL(journal_bytes(n), 0);
	CU_ASSERT(!journal_first(n, &first));
	journal_free(j);
	journal_free(n);
}

static char path[64];

static struct journal *three(void)
{
	struct journal *j = journal_new(), *n;

	for (uint32_t s = 10; s < 13; s++) {
		n = journal_with(j, step(s, s + 1, "v"), 1 << 20);
		journal_free(j);
		j = n;
	}
	return j;
}

static void test_file(void)
{
	struct journal *j = three(), *l = NULL;
	char err[512];
	const struct jdiff *a, *b;

	snprintf(path, sizeof(path), "/tmp/ditto-jtest-%d.journal", getpid());
	CU_ASSERT_FATAL(journal_save(j, APEX, APEX_LEN, path) == 0);
	CU_ASSERT_FATAL(journal_load(path, APEX, APEX_LEN, 13, &l, err,
				     sizeof(err)) == 0);
	CU_ASSERT_EQUAL(journal_count(l), 3);
	CU_ASSERT_EQUAL(journal_bytes(l), journal_bytes(j));
	for (size_t i = 0; i < 3; i++) {
		struct ditto_wire_rr x, y;
		size_t px = 0, py = 0;
		bool dx, dy;

		a = journal_at(j, i);
		b = journal_at(l, i);
		CU_ASSERT_EQUAL(jdiff_from(a), jdiff_from(b));
		CU_ASSERT_EQUAL(jdiff_to(a), jdiff_to(b));
		while (jdiff_next(a, &px, &x, &dx) > 0) {
			CU_ASSERT_FATAL(jdiff_next(b, &py, &y, &dy) > 0);
			CU_ASSERT(dx == dy && x.type == y.type &&
				  x.ttl == y.ttl && x.rdlen == y.rdlen &&
				  memcmp(x.rdata, y.rdata, x.rdlen) == 0);
		}
		CU_ASSERT(jdiff_next(b, &py, &y, &dy) == 0);
	}
	journal_free(l);

	/* Saved contents older than the end, within the chain: taken (the
	 * loader replays from there). Outside it: refused. */
	CU_ASSERT(journal_load(path, APEX, APEX_LEN, 11, &l, err,
			       sizeof(err)) == 0);
	CU_ASSERT_EQUAL(journal_count(l), 3);
	journal_free(l);
	CU_ASSERT(journal_load(path, APEX, APEX_LEN, 9, &l, err,
			       sizeof(err)) == DITTO_ECORRUPT);
	CU_ASSERT(strstr(err, "spans serials 10 to 13") != NULL);
	/* Of another zone. */
	CU_ASSERT(journal_load(path, (const uint8_t *)"\7example\3net", 13, 13,
			       &l, err, sizeof(err)) == DITTO_ECORRUPT);
	/* Missing: an empty journal. */
	CU_ASSERT(journal_load("/tmp/ditto-jtest-none", APEX, APEX_LEN, 13, &l,
			       err, sizeof(err)) == 0);
	CU_ASSERT_EQUAL(journal_count(l), 0);
	journal_free(l);
	journal_free(j);
}

static uint8_t *slurp(size_t *size)
{
	FILE *f = fopen(path, "rb");
	uint8_t *b = malloc(1 << 16);

	CU_ASSERT_FATAL(f && b);
	*size = fread(b, 1, 1 << 16, f);
	fclose(f);
	return b;
}

static void spill(const uint8_t *b, size_t size, bool fix_sum)
{
	FILE *f = fopen(path, "wb");
	uint8_t *c = malloc(size);
	static const uint64_t k[2] = { 0, 0 };

	memcpy(c, b, size);
	if (fix_sum && size >= 8) {
		uint64_t h = ditto_siphash(k, c, size - 8, 2, 4);

		for (int i = 0; i < 8; i++)
			c[size - 8 + (size_t)i] = (uint8_t)(h >> (8 * i));
	}
	fwrite(c, 1, size, f);
	fclose(f);
	free(c);
}

/* Every byte flipped, every length cut: refused, nothing read past the
 * file (ASan), and with the checksum fixed up after the damage, the
 * structure checks alone must refuse or yield a consistent chain. */
static void test_damage(void)
{
	struct journal *j = three(), *l;
	char err[512];
	size_t size;
	uint8_t *good;

	CU_ASSERT_FATAL(journal_save(j, APEX, APEX_LEN, path) == 0);
	journal_free(j);
	good = slurp(&size);
	for (size_t cut = 0; cut < size; cut++) {
		spill(good, cut, false);
		CU_ASSERT(journal_load(path, APEX, APEX_LEN, 13, &l, err,
				       sizeof(err)) < 0);
	}
	unsigned refused_sum = 0, refused_struct = 0, taken = 0;

	for (size_t i = 0; i < size - 8; i++) {
		uint8_t *b = malloc(size);

		memcpy(b, good, size);
		b[i] ^= 0x5a;
		spill(b, size, false);
		if (journal_load(path, APEX, APEX_LEN, 13, &l, err,
				 sizeof(err)) < 0)
			refused_sum++;
		spill(b, size, true);
		l = NULL;
		if (journal_load(path, APEX, APEX_LEN, 13, &l, err,
				 sizeof(err)) < 0) {
			refused_struct++;
		} else {
			/* Damage the checks cannot see (a TTL, rdata): the
			 * chain must still be whole and end at 13. */
			size_t n = journal_count(l);

			CU_ASSERT(n == 3);
			CU_ASSERT(jdiff_to(journal_at(l, n - 1)) == 13);
			taken++;
			journal_free(l);
		}
		free(b);
	}
	CU_ASSERT_EQUAL(refused_sum, size - 8);
	CU_ASSERT(refused_struct > 0);
	CU_ASSERT(taken > 0);
	printf("\n  %zu bytes: %u flips refused by the checksum, %u by the "
	       "structure checks, %u harmless\n", size, refused_sum,
	       refused_struct, taken);
	free(good);
	unlink(path);
}

/* A clone is a copy to change: the original stays as it was, and a clone
 * of a clone full of deleted records is compacted. */
static void test_clone(void)
{
	struct contents *a = zone(1, base), *b, *c, *d;
	const struct ditto_wire_rr *old = rr("www.example.com. 300 IN A 192.0.2.10");
	char line[100];

	b = contents_clone(a);
	CU_ASSERT_FATAL(b != NULL);
	CU_ASSERT_EQUAL(contents_delete(b, old), 0);
	CU_ASSERT_EQUAL(contents_add(b, rr("x.example.com. 60 IN A 192.0.2.99"),
				     0), 0);
	CU_ASSERT(contents_has(a, old, NULL));
	CU_ASSERT(!contents_has(b, old, NULL));
	CU_ASSERT(!contents_has(a, rr("x.example.com. 60 IN A 192.0.2.99"),
				NULL));
	CU_ASSERT_EQUAL(contents_count(a), contents_count(b));
	for (int i = 0; i < 3000; i++) {
		snprintf(line, sizeof(line), "t%d.example.com. 60 IN TXT \"%d\"",
			 i, i);
		CU_ASSERT_FATAL(contents_add(b, rr(line), 0) == 0);
	}
	c = contents_clone(b);
	for (int i = 0; i < 2500; i++) {
		snprintf(line, sizeof(line), "t%d.example.com. 60 IN TXT \"%d\"",
			 i, i);
		CU_ASSERT(contents_delete(c, rr(line)) == 0);
	}
	d = contents_clone(c);		/* compacts */
	CU_ASSERT_FATAL(d != NULL);
	CU_ASSERT_EQUAL(contents_count(d), contents_count(c));
	CU_ASSERT_EQUAL(contents_count(b), contents_count(c) + 2500);
	for (int i = 2400; i < 3000; i++) {
		snprintf(line, sizeof(line), "t%d.example.com. 60 IN TXT \"%d\"",
			 i, i);
		CU_ASSERT(contents_has(d, rr(line), NULL) == (i >= 2500));
		CU_ASSERT(contents_has(b, rr(line), NULL));
	}
	CU_ASSERT(same(d, c));
	contents_free(a);
	contents_free(b);
	contents_free(c);
	contents_free(d);
}

/* Saved contents brought up to the journal's end, as a restart does
 * after IXFRs that wrote the journal alone. */
static void test_replay(void)
{
	static const char *const two[] = {
		"example.com. 3600 IN NS ns.example.com.",
		"ns.example.com. 3600 IN A 192.0.2.1",
		"www.example.com. 300 IN A 192.0.2.10",
		"www.example.com. 300 IN A 192.0.2.12",
		"mail.example.com. 300 IN MX 10 mx.example.com.",
		NULL,
	};
	static const char *const three[] = {
		"example.com. 3600 IN NS ns.example.com.",
		"ns.example.com. 3600 IN A 192.0.2.1",
		"www.example.com. 300 IN A 192.0.2.12",
		"mail.example.com. 300 IN MX 10 mx.example.com.",
		"new.example.com. 300 IN AAAA 2001:db8::1",
		NULL,
	};
	struct contents *z1 = zone(1, base), *z2 = zone(2, two);
	struct contents *z3 = zone(3, three), *c;
	struct journal *j = journal_new(), *n;
	bool big;
	uint32_t reached;
	char err[256];

	n = journal_with(j, jdiff_between(z1, z2, 0, &big), 1 << 20);
	journal_free(j);
	j = journal_with(n, jdiff_between(z2, z3, 0, &big), 1 << 20);
	journal_free(n);
	CU_ASSERT_EQUAL_FATAL(journal_count(j), 2);
	c = contents_clone(z1);
	CU_ASSERT_EQUAL(journal_replay(j, 1, c, &reached, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(reached, 3);
	CU_ASSERT(same(c, z3));
	contents_free(c);
	c = contents_clone(z2);
	CU_ASSERT_EQUAL(journal_replay(j, 2, c, &reached, err, sizeof(err)), 0);
	CU_ASSERT(reached == 3 && same(c, z3));
	contents_free(c);
	/* Contents that are not what the journal starts from: refused. */
	c = contents_clone(z3);
	CU_ASSERT_EQUAL(journal_replay(j, 1, c, &reached, err, sizeof(err)),
			DITTO_ECORRUPT);
	CU_ASSERT(strstr(err, "does not apply") != NULL);
	contents_free(c);
	journal_free(j);
	contents_free(z1);
	contents_free(z2);
	contents_free(z3);
}

int main(void)
{
	static const struct h_test tests[] = {
		{ "difference between two contents", test_between },
		{ "chain, trimming, restart", test_chain },
		{ "file round trip and refusals", test_file },
		{ "damaged files refused", test_damage },
		{ "clones are copies, compacted when worn", test_clone },
		{ "saved contents replayed to the journal's end", test_replay },
	};

	return h_run("journal", tests, sizeof(tests) / sizeof(tests[0]));
}
