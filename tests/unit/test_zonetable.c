/* Unit tests for the zone table: immutable copies, replace and remove by
 * apex, longest-match lookup on label boundaries. */
#include <stdio.h>
#include <string.h>

#include <CUnit/Basic.h>

#include "helpers.h"

static const char *zone_text(const char *apex, unsigned serial)
{
	static char text[512];

	snprintf(text, sizeof(text),
		 "$ORIGIN %s\n$TTL 300\n"
		 "@ SOA ns hostmaster %u 7200 3600 1209600 300\n"
		 "@ NS ns\nns A 192.0.2.1\n", apex, serial);
	return text;
}

static struct ditto_image *zone(const char *apex, unsigned serial)
{
	return h_image(zone_text(apex, serial), NULL);
}

static const struct ditto_image *match(const struct ditto_zone_table *t,
				       const char *name)
{
	uint8_t w[256];
	size_t n = h_wire_name(name, w, sizeof(w));

	return ditto_zone_table_match(t, w, n);
}

static void test_empty_table_matches_nothing(void)
{
	struct ditto_zone_table *t = ditto_zone_table_new();

	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	CU_ASSERT_EQUAL(ditto_zone_table_count(t), 0);
	CU_ASSERT_PTR_NULL(match(t, "www.example."));
	CU_ASSERT_PTR_NULL(match(t, "."));
	ditto_zone_table_free(t);
}

static void test_match_is_longest_apex_on_label_boundaries(void)
{
	struct ditto_image *parent = zone("example.", 1);
	struct ditto_image *child = zone("child.example.", 2);
	struct ditto_image *other = zone("example.org.", 3);

	CU_ASSERT_PTR_NOT_NULL_FATAL(parent);
	CU_ASSERT_PTR_NOT_NULL_FATAL(child);
	CU_ASSERT_PTR_NOT_NULL_FATAL(other);
	struct ditto_zone_table *t = h_table(parent, child, other, NULL);
	CU_ASSERT_EQUAL(ditto_zone_table_count(t), 3);
	CU_ASSERT_PTR_EQUAL(match(t, "example."), parent);
	CU_ASSERT_PTR_EQUAL(match(t, "www.example."), parent);
	CU_ASSERT_PTR_EQUAL(match(t, "child.example."), child);
	CU_ASSERT_PTR_EQUAL(match(t, "a.b.child.example."), child);
	CU_ASSERT_PTR_EQUAL(match(t, "xchild.example."), parent);
	CU_ASSERT_PTR_EQUAL(match(t, "www.example.org."), other);
	CU_ASSERT_PTR_NULL(match(t, "org."));
	CU_ASSERT_PTR_NULL(match(t, "notexample."));
	CU_ASSERT_PTR_NULL(match(t, "example.net."));
	CU_ASSERT_PTR_NULL(match(t, "."));
	ditto_zone_table_free(t);
	ditto_image_free(parent);
	ditto_image_free(child);
	ditto_image_free(other);
}

static void test_with_same_apex_replaces_and_leaves_old_table_intact(void)
{
	struct ditto_image *v1 = zone("example.", 1);
	struct ditto_image *v2 = zone("example.", 2);
	struct ditto_image *old = NULL;

	CU_ASSERT_PTR_NOT_NULL_FATAL(v1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(v2);
	struct ditto_zone_table *t1 = h_table(v1, NULL);
	struct ditto_zone_table *t2 = ditto_zone_table_with(t1, v2, &old);
	CU_ASSERT_PTR_NOT_NULL_FATAL(t2);
	CU_ASSERT_PTR_EQUAL(old, v1);
	CU_ASSERT_EQUAL(ditto_zone_table_count(t2), 1);
	CU_ASSERT_PTR_EQUAL(match(t2, "www.example."), v2);
	/* readers of the old table still see the old image */
	CU_ASSERT_PTR_EQUAL(match(t1, "www.example."), v1);
	CU_ASSERT_PTR_EQUAL(ditto_zone_table_at(t2, 0), v2);
	ditto_zone_table_free(t1);
	ditto_zone_table_free(t2);
	ditto_image_free(v1);
	ditto_image_free(v2);
}

static void test_without_removes_zone_and_reports_it(void)
{
	struct ditto_image *a = zone("example.", 1);
	struct ditto_image *b = zone("child.example.", 1);
	struct ditto_image *old = NULL;
	uint8_t apex[256];

	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	struct ditto_zone_table *t1 = h_table(a, b, NULL);
	size_t n = h_wire_name("child.example.", apex, sizeof(apex));
	struct ditto_zone_table *t2 = ditto_zone_table_without(t1, apex, n,
							       &old);
	CU_ASSERT_PTR_NOT_NULL_FATAL(t2);
	CU_ASSERT_PTR_EQUAL(old, b);
	CU_ASSERT_EQUAL(ditto_zone_table_count(t2), 1);
	CU_ASSERT_PTR_EQUAL(match(t2, "www.child.example."), a);
	CU_ASSERT_PTR_EQUAL(match(t1, "www.child.example."), b);

	/* removing an apex that is not there changes nothing (a copy or
	 * NULL, the API leaves that open) and reports no image */
	old = b;
	n = h_wire_name("example.org.", apex, sizeof(apex));
	struct ditto_zone_table *t3 = ditto_zone_table_without(t2, apex, n,
							       &old);
	CU_ASSERT_PTR_NULL(old);
	if (t3) {
		CU_ASSERT_EQUAL(ditto_zone_table_count(t3), 1);
		ditto_zone_table_free(t3);
	}
	ditto_zone_table_free(t1);
	ditto_zone_table_free(t2);
	ditto_image_free(a);
	ditto_image_free(b);
}

static void test_many_zones_each_found(void)
{
	enum { N = 200 };
	struct ditto_image *imgs[N];
	struct ditto_zone_table *t = ditto_zone_table_new();
	char apex[64], name[80];

	for (int i = 0; i < N; i++) {
		snprintf(apex, sizeof(apex), "z%d.example%d.", i, i % 7);
		imgs[i] = zone(apex, (unsigned)i);
		CU_ASSERT_PTR_NOT_NULL_FATAL(imgs[i]);
		struct ditto_zone_table *n = ditto_zone_table_with(t, imgs[i],
								   NULL);
		ditto_zone_table_free(t);
		t = n;
	}
	CU_ASSERT_EQUAL(ditto_zone_table_count(t), N);
	for (int i = 0; i < N; i++) {
		snprintf(name, sizeof(name), "www.z%d.example%d.", i, i % 7);
		CU_ASSERT_PTR_EQUAL(match(t, name), imgs[i]);
	}
	CU_ASSERT_PTR_NULL(match(t, "www.z200.example0."));
	ditto_zone_table_free(t);
	for (int i = 0; i < N; i++)
		ditto_image_free(imgs[i]);
}

int main(void)
{
	static const struct h_test tests[] = {
#define T(fn) { #fn, fn }
		T(test_empty_table_matches_nothing),
		T(test_match_is_longest_apex_on_label_boundaries),
		T(test_with_same_apex_replaces_and_leaves_old_table_intact),
		T(test_without_removes_zone_and_reports_it),
		T(test_many_zones_each_found),
#undef T
	};
	return h_run("zonetable", tests, sizeof(tests) / sizeof(tests[0]));
}
