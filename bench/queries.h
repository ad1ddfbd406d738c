/* The benchmarks' query lists: "name type [expect]" lines as gen_zone.py
 * writes them, rendered into DNS queries, and the check of an answer
 * against what the generator knows it must be. */
#ifndef DITTO_BENCH_QUERIES_H
#define DITTO_BENCH_QUERIES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine.h"

enum expect { EXP_NONE, EXP_HIT, EXP_NXDOMAIN, EXP_WILDCARD, EXP_CNAME,
	      EXP_REFERRAL, EXP_COUNT };
extern const char *const expect_names[EXP_COUNT];

struct query {
	uint32_t off;		/* in the packet buffer */
	uint16_t len;
	uint16_t qtype;
	uint8_t expect;
};

struct query_list {
	struct query *qs;
	size_t n;
	uint8_t *pk;		/* the queries, each 8-byte aligned */
};

/* Queries are rendered with the DO bit when set (before loading). */
extern bool query_dnssec_ok;
/* ... and with a client cookie (COOKIE option, 8 bytes). */
extern bool query_cookie;

/* Read path; on failure -1 with a message on stderr naming prog. */
int query_list_load(const char *prog, const char *path, struct query_list *l);
void query_list_free(struct query_list *l);

struct verdict {
	unsigned rcode, an, ns, ar;
	bool aa, qr, tc, echo;
	int first_an, first_ns;	/* type of the first RR, -1 none */
};

/* Read the response r to query q into v. */
void inspect(const uint8_t *q, size_t qlen, const uint8_t *r, size_t rlen,
	     const struct ditto_answer_info *info, struct verdict *v);
/* Whether v is what expectation e says for qtype. */
bool judge(enum expect e, uint16_t qtype, const struct verdict *v,
	   const struct ditto_answer_info *info);

#endif
