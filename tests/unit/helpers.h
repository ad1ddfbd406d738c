/* Shared helpers for the unit tests: compile zone text into opened images,
 * build queries by hand, answer them and read the response with ldns, and
 * run a CUnit suite with the summary line the test wrapper sums. */
#ifndef DITTO_TEST_HELPERS_H
#define DITTO_TEST_HELPERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ldns/ldns.h>

#include "compile.h"
#include "engine.h"

/* ---- running a suite ---------------------------------------------------- */

struct h_test {
	const char *name;
	void (*fn)(void);
};

/* Register tests as one suite, run them verbosely, print
 * "unit-<name>: N passed, M failed" and return the process exit status. */
int h_run(const char *name, const struct h_test *tests, size_t n);

/* ---- zones --------------------------------------------------------------- */

/* Compile zone text with origin (presentation form, or NULL for $ORIGIN).
 * Returns 0 or the compiler's error; *out filled either way. */
int h_compile(const char *text, const char *origin, struct ditto_compiled *out);

/* Compile and open; NULL (with the reason printed) when either fails. The
 * image owns a private copy of the bytes. */
struct ditto_image *h_image(const char *text, const char *origin);

/* Open a copy of bytes (malloc'd exactly size bytes so ASan sees overreads).
 * On success the image owns the copy. */
int h_open_copy(const uint8_t *bytes, size_t size, struct ditto_image **out,
		char *err, size_t errlen);

/* A zone table holding the images (NULL-terminated list). */
struct ditto_zone_table *h_table(struct ditto_image *first, ...);

/* Presentation name -> lowercase-preserving wire name; returns length. */
size_t h_wire_name(const char *text, uint8_t *out, size_t cap);

/* The node of a presentation name in img, or NULL. */
const struct ditto_node *h_node(const struct ditto_image *img,
				const char *name);

/* The RRset of type at a presentation name in img, or NULL. */
const struct ditto_rrset *h_rrset(const struct ditto_image *img,
				  const char *name, uint16_t type);

/* ---- queries ------------------------------------------------------------- */

struct h_edns {
	bool on;
	uint16_t payload;
	uint8_t version;
	bool do_bit;
	const uint8_t *options;	/* raw option bytes (code, len, data)... */
	size_t options_len;
};

struct h_query {
	uint16_t id;
	uint16_t flags;		/* header flags word (opcode included) */
	const char *qname;	/* case preserved */
	uint16_t qtype;
	uint16_t qclass;	/* 0 = IN */
	struct h_edns edns;
};

/* Render a query; returns its length. */
size_t h_query_wire(const struct h_query *q, uint8_t *buf, size_t cap);

struct h_answer_opts {
	const struct ditto_answer_cfg *cfg;	/* NULL = h_cfg_default() */
	unsigned flags;				/* DITTO_ANSWER_* */
	size_t cap;				/* 0 = 65535 */
};

/* A response: raw bytes, ldns parse (NULL when it did not parse) and the
 * answer() info. */
struct h_resp {
	uint8_t *wire;
	size_t len;
	ldns_pkt *pkt;
	struct ditto_answer_info info;
	char what[300];		/* the query, for failure messages */
	unsigned fails;		/* CUnit failures before the query */
};

const struct ditto_answer_cfg *h_cfg_default(void);

/* Answer raw query bytes. */
void h_answer_raw(const struct ditto_zone_table *t, const uint8_t *q,
		  size_t qlen, const struct h_answer_opts *o, struct h_resp *r);
/* Build, answer, parse. h_resp_free() prints the query and response when
 * an assertion failed since it was asked (always, when DITTO_TEST_DUMP is
 * set in the environment). */
void h_ask(const struct ditto_zone_table *t, const struct h_query *q,
	   const struct h_answer_opts *o, struct h_resp *r);
/* The common case: IN query with RD clear, no EDNS, default config. */
void h_ask_simple(const struct ditto_zone_table *t, const char *qname,
		  uint16_t qtype, struct h_resp *r);
void h_resp_free(struct h_resp *r);

/* ---- reading a response -------------------------------------------------- */

uint16_t h_flags(const struct h_resp *r);	/* header flags word */
unsigned h_rcode(const struct h_resp *r);	/* header rcode, 4 bits */
unsigned h_count(const struct h_resp *r, int section);	/* header count */

/* Records of type (0 = any type) in a section of the parsed packet. */
size_t h_rr_count(const struct h_resp *r, ldns_pkt_section s, uint16_t type);
/* The n-th record of type with owner (case-insensitive), or NULL. */
ldns_rr *h_rr_find(const struct h_resp *r, ldns_pkt_section s,
		   const char *owner, uint16_t type, size_t n);
/* True when a record of owner/type has rdata presentation text rdata. */
bool h_rr_has(const struct h_resp *r, ldns_pkt_section s, const char *owner,
	      uint16_t type, const char *rdata);
/* Rdata of rr as presentation text into buf. */
const char *h_rdata_str(const ldns_rr *rr, char *buf, size_t cap);
/* A readable dump of the response (for failure messages). */
void h_dump(const struct h_resp *r);

/* The OPT record found by walking the raw response. */
struct h_opt {
	bool present;
	unsigned count;		/* OPT records in additional */
	uint16_t payload;
	uint8_t ext_rcode;
	uint8_t version;
	uint16_t eflags;
	const uint8_t *rdata;
	uint16_t rdlen;
};
/* Walk the raw response; false when it is malformed. */
bool h_opt(const struct h_resp *r, struct h_opt *opt);
/* The data of EDNS option code in opt, or NULL; *len set. */
const uint8_t *h_opt_option(const struct h_opt *opt, uint16_t code,
			    uint16_t *len);

/* Offset just past a (possibly compressed) name at off, 0 if malformed. */
size_t h_skip_name(const uint8_t *m, size_t len, size_t off);

#endif
