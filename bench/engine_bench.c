/* engine_bench: compile a zone, then answer a query mix against it on one
 * pinned core and report compile speed, image size and ns/query.
 *
 *   engine_bench --zone FILE --queries FILE [--origin NAME] [--seconds S]
 *                [--rounds R] [--count N] [--cpu C] [--no-hugepages]
 *                [--quiet] [--do]
 *
 * --do sets the DO bit in every query (a signed zone's answers then carry
 * RRSIGs and NSEC/NSEC3 proofs).
 * The query file has one query a line, "name type [expect]", where expect
 * (hit, nxdomain, wildcard, cname, referral) is what gen_zone.py knows the
 * answer must be; every query is answered and checked once before timing.
 * Then every query is answered again in bursts of 32 and each response
 * compared byte for byte with the single answer's (not with --count).
 * --count N answers exactly N queries in one round (in bursts unless
 * --single), for callgrind.
 * The image is answered from a copy in transparent-hugepage memory, as the
 * dataplane keeps it in hugepages (--no-hugepages: 4 KiB pages).
 * The last line of output is "RESULT key=value ..." for scripts.
 *
 * Built by bench/ab_answer.sh with -DDITTO_BENCH_AB and two versions of
 * answer.c (their symbols renamed ab_a_... and ab_b_...), the timed
 * rounds alternate between the two: A B B A A B B A ... (the summary
 * and RESULT lines then mix both versions' rounds), and the answer check
 * runs for both.
 */
#include <errno.h>
#include <getopt.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "ditto/error.h"
#include "ditto/image.h"
#include "ditto/wire.h"
#include "compile.h"
#include "engine.h"
#include "queries.h"

/* The answer path's two entry points, as engine.h declares them. */
typedef __typeof__(ditto_answer) single_fn;
typedef __typeof__(ditto_answer_burst) burst_fn;

#ifdef DITTO_BENCH_AB
single_fn ab_a_answer, ab_b_answer;
burst_fn ab_a_answer_burst, ab_b_answer_burst;
/* A B B A A B B A ...: each pair of rounds has one of each, in either
 * order by turns, so neither version always runs second. */
#define AB_IS_B(r) ((((r) + 1) >> 1) & 1)
#define TIMED_BURST(r) (AB_IS_B(r) ? ab_b_answer_burst : ab_a_answer_burst)
#define ROUND_TAG(r) (AB_IS_B(r) ? " B" : " A")
#else
#define TIMED_BURST(r) ditto_answer_burst
#define ROUND_TAG(r) ""
#endif

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static long status_kb(const char *key)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	size_t kl = strlen(key);
	long v = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, kl) && line[kl] == ':') {
			v = strtol(line + kl + 1, NULL, 10);
			break;
		}
	fclose(f);
	return v;
}

/* Reset VmHWM to the current RSS (Linux: "5" > clear_refs). */
static bool reset_hwm(void)
{
	FILE *f = fopen("/proc/self/clear_refs", "w");
	bool ok;

	if (!f)
		return false;
	ok = fputs("5", f) >= 0;
	return fclose(f) == 0 && ok;
}

/* kB of anonymous huge pages mapped by this process. */
static long anon_huge_kb(void)
{
	FILE *f = fopen("/proc/self/smaps_rollup", "r");
	char line[256];
	long v = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "AnonHugePages:", 14))
			v = strtol(line + 14, NULL, 10);
	fclose(f);
	return v;
}

#define HUGE_SZ ((size_t)2 << 20)

static void huge_release(void *mem, size_t size)
{
	munmap(mem, (size + HUGE_SZ - 1) & ~(HUGE_SZ - 1));
}

/* A copy of the image in 2 MiB-aligned memory advised to use huge pages,
 * or NULL. */
static uint8_t *huge_copy(const uint8_t *src, size_t size)
{
	size_t len = (size + HUGE_SZ - 1) & ~(HUGE_SZ - 1);
	uint8_t *raw = mmap(NULL, len + HUGE_SZ, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (raw == MAP_FAILED)
		return NULL;
	uint8_t *p = (uint8_t *)(((uintptr_t)raw + HUGE_SZ - 1) &
				 ~(uintptr_t)(HUGE_SZ - 1));
	/* Trim to the aligned part. */
	if (p > raw)
		munmap(raw, (size_t)(p - raw));
	if (raw + len + HUGE_SZ > p + len)
		munmap(p + len, (size_t)(raw + len + HUGE_SZ - (p + len)));
	madvise(p, len, MADV_HUGEPAGE);
	memcpy(p, src, size);
	return p;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: engine_bench --zone FILE --queries FILE [--origin NAME]\n"
		"                    [--seconds S] [--rounds R] [--count N]\n"
		"                    [--cpu C] [--no-hugepages] [--single] [--quiet]\n"
		"                    [--do]\n"
		"(timed answering uses bursts of 32 unless --single)\n");
}

/* Every query answered in bursts by burst, each response and its info
 * compared with what single gives it alone, or (single NULL) with what
 * the bursts of ref give. Returns how many differ. */
static unsigned long burst_check(const struct ditto_zone_table *zones,
				 const struct ditto_answer_cfg *cfg,
				 const uint8_t *pk, const struct query *qs,
				 size_t nq, single_fn *single, burst_fn *burst,
				 burst_fn *ref, const char *what, bool quiet)
{
	static uint8_t one[DITTO_BURST_MAX][2048], got[DITTO_BURST_MAX][2048];
	size_t one_len[DITTO_BURST_MAX];
	struct ditto_answer_info one_info[DITTO_BURST_MAX];
	unsigned long differ = 0;

	for (size_t i = 0; i < nq; i += DITTO_BURST_MAX) {
		struct ditto_query b[DITTO_BURST_MAX], r[DITTO_BURST_MAX];
		size_t m = nq - i < DITTO_BURST_MAX ? nq - i : DITTO_BURST_MAX;

		for (size_t j = 0; j < m; j++) {
			const uint8_t *q = pk + qs[i + j].off;

			b[j] = (struct ditto_query){
				.q = q, .qlen = (uint16_t)qs[i + j].len,
				.resp = got[j], .cap = sizeof(got[j]) };
			r[j] = b[j];
			r[j].resp = one[j];
			r[j].cap = sizeof(one[j]);
			if (single)
				one_len[j] = single(zones, cfg, q, qs[i + j].len,
						    one[j], sizeof(one[j]), 0,
						    &one_info[j]);
		}
		burst(zones, cfg, b, (unsigned)m, 0);
		if (!single) {
			ref(zones, cfg, r, (unsigned)m, 0);
			for (size_t j = 0; j < m; j++) {
				one_len[j] = r[j].resp_len;
				one_info[j] = r[j].info;
			}
		}
		for (size_t j = 0; j < m; j++) {
			if (b[j].resp_len == one_len[j] &&
			    memcmp(b[j].resp, one[j], one_len[j]) == 0 &&
			    memcmp(&b[j].info, &one_info[j],
				   sizeof(one_info[j])) == 0)
				continue;
			if (differ++ < 10 && !quiet) {
				char txt[1024];

				dns_name_to_text(b[j].q + DNS_HDR_LEN, txt,
						 sizeof(txt));
				fprintf(stderr, "BURST DIFFERS %s type %u: %u "
					"bytes in a burst, %zu %s\n", txt,
					qs[i + j].qtype, b[j].resp_len,
					one_len[j], single ? "alone" : "in ref");
			}
		}
	}
	printf("burst%s%s       %zu responses in bursts of %d against %s: "
	       "%lu differ%s\n", what ? " " : "", what ? what : "", nq,
	       DITTO_BURST_MAX, single ? "the single answers" : "A's",
	       differ, differ ? "  <-- WRONG ANSWERS" : "");
	return differ;
}

int main(int argc, char **argv)
{
	/* As ditto-zone does (see there). */
	mallopt(M_TRIM_THRESHOLD, 256 << 20);
	const char *zone = NULL, *qfile = NULL, *origin = NULL;
	double seconds = 3.0;
	long rounds = 3, count = 0;
	bool single = false;
	int cpu = -1;
	bool quiet = false, huge = true;
	static const struct option lo[] = {
		{ "zone", required_argument, NULL, 'z' },
		{ "queries", required_argument, NULL, 'q' },
		{ "origin", required_argument, NULL, 'o' },
		{ "seconds", required_argument, NULL, 's' },
		{ "rounds", required_argument, NULL, 'r' },
		{ "count", required_argument, NULL, 'n' },
		{ "cpu", required_argument, NULL, 'c' },
		{ "quiet", no_argument, NULL, 'Q' },
		{ "no-hugepages", no_argument, NULL, 'H' },
		{ "single", no_argument, NULL, 'S' },
		{ "do", no_argument, NULL, 'D' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	int opt;

	while ((opt = getopt_long(argc, argv, "z:q:o:s:r:n:c:Qh", lo, NULL)) !=
	       -1) {
		switch (opt) {
		case 'z': zone = optarg; break;
		case 'q': qfile = optarg; break;
		case 'o': origin = optarg; break;
		case 's': seconds = atof(optarg); break;
		case 'r': rounds = atol(optarg); break;
		case 'n': count = atol(optarg); break;
		case 'c': cpu = atoi(optarg); break;
		case 'Q': quiet = true; break;
		case 'H': huge = false; break;
		case 'S': single = true; break;
		case 'D': query_dnssec_ok = true; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (!zone || !qfile || seconds <= 0 || rounds < 1 || count < 0) {
		usage(stderr);
		return 2;
	}
	if (count)
		rounds = 1;

	/* Pin to one CPU: the last one we may run on, unless told. */
	cpu_set_t set;

	if (cpu < 0) {
		CPU_ZERO(&set);
		if (sched_getaffinity(0, sizeof(set), &set) == 0)
			for (int c = 0; c < CPU_SETSIZE; c++)
				if (CPU_ISSET(c, &set))
					cpu = c;
		if (cpu < 0)
			cpu = 0;
	}
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set) != 0)
		fprintf(stderr, "engine_bench: cannot pin to cpu %d: %s\n",
			cpu, strerror(errno));

	/* Compile. */
	struct ditto_compile_opts copts = {
		.origin = origin,
		.default_ttl = 3600,
		.limits = { .max_names = 100000000, .max_records = 100000000 },
		.log = stderr,
	};
	struct ditto_compiled comp;

	memset(&comp, 0, sizeof(comp));
	bool hwm_ok = reset_hwm();
	long rss0 = status_kb("VmRSS");
	double t0 = now_s();
	int rc = ditto_compile_file(zone, &copts, &comp);
	double compile_s = now_s() - t0;
	long hwm1 = status_kb("VmHWM"), rss1 = status_kb("VmRSS");

	if (rc != 0) {
		fprintf(stderr, "engine_bench: compile %s: %s: %s\n", zone,
			ditto_strerror(rc), comp.first_error);
		return 1;
	}
	if (!hwm_ok)
		fprintf(stderr, "engine_bench: cannot reset VmHWM; peak is "
				"process-wide\n");
	double recs = (double)comp.records;
	double peak_b = (double)(hwm1 - rss0) * 1024.0;
	double held_b = (double)(rss1 - rss0) * 1024.0;

	printf("zone        %s: %zu records, %zu names, serial %u, "
	       "%u warnings\n", zone, comp.records, comp.names, comp.serial,
	       comp.warnings);
	printf("compile     %.3f s, %.0f records/s, %.3f s per million "
	       "records\n", compile_s, recs / compile_s,
	       compile_s * 1e6 / recs);
	printf("image       %zu bytes, %.1f bytes/record, %.1f bytes/name\n",
	       comp.size, (double)comp.size / recs,
	       (double)comp.size / (double)comp.names);
	printf("memory      compile peak +%.1f MiB (%.1f bytes/record), "
	       "held after +%.1f MiB\n", peak_b / 1048576.0, peak_b / recs,
	       held_b / 1048576.0);

	struct ditto_image *img = NULL;
	char err[256] = "";
	const uint8_t *mem = comp.image;
	void (*release)(void *, size_t) = NULL;
	long huge0 = anon_huge_kb();

	if (huge) {
		uint8_t *h = huge_copy(comp.image, comp.size);

		if (h) {
			mem = h;
			release = huge_release;
		} else {
			fprintf(stderr, "engine_bench: no hugepage copy: %s\n",
				strerror(errno));
		}
	}
	t0 = now_s();
	rc = ditto_image_open(mem, comp.size, release, &img, err,
			      sizeof(err));
	double open_s = now_s() - t0;

	if (rc != 0) {
		fprintf(stderr, "engine_bench: image open: %s: %s\n",
			ditto_strerror(rc), err);
		return 1;
	}
	printf("open        %.3f ms (validate), image in %s pages "
	       "(%ld kB huge)\n", open_s * 1e3,
	       release ? "transparent huge" : "4 KiB",
	       release ? anon_huge_kb() - huge0 : 0L);

	struct ditto_zone_table *t_empty = ditto_zone_table_new();
	struct ditto_zone_table *zones =
		t_empty ? ditto_zone_table_with(t_empty, img, NULL) : NULL;

	if (!zones) {
		fprintf(stderr, "engine_bench: zone table: out of memory\n");
		return 1;
	}

	struct query_list ql;

	if (query_list_load("engine_bench", qfile, &ql) < 0)
		return 1;
	struct query *qs = ql.qs;
	size_t nq = ql.n;
	uint8_t *pk = ql.pk;

	/* One checked pass. */
	struct ditto_answer_cfg cfg = { .edns_max = DITTO_EDNS_DEFAULT };
	static uint8_t resp[65536];
	static uint8_t burst_resp[DITTO_BURST_MAX][2048];
	unsigned long rcodes[32] = { 0 }, ok[EXP_COUNT] = { 0 },
		      bad[EXP_COUNT] = { 0 }, nexp[EXP_COUNT] = { 0 };
	unsigned long dropped = 0, tc = 0, wild = 0, refer = 0, bytes = 0,
		      nbad = 0;

	for (size_t i = 0; i < nq; i++) {
		const uint8_t *q = pk + qs[i].off;
		struct ditto_answer_info info = { 0 };
		struct verdict v;
		size_t rl = ditto_answer(zones, &cfg, q, qs[i].len, resp,
					 sizeof(resp), 0, &info);

		if (!rl) {
			dropped++;
			memset(&v, 0, sizeof(v));
		} else {
			inspect(q, qs[i].len, resp, rl, &info, &v);
			rcodes[info.rcode & 31]++;
		}
		bytes += rl;
		tc += !!(info.flags & DITTO_INFO_TC);
		wild += !!(info.flags & DITTO_INFO_WILDCARD);
		refer += !!(info.flags & DITTO_INFO_REFERRAL);
		nexp[qs[i].expect]++;
		if (rl && judge(qs[i].expect, qs[i].qtype, &v, &info)) {
			ok[qs[i].expect]++;
			continue;
		}
		bad[qs[i].expect]++;
		if (nbad++ < 10 && !quiet) {
			char txt[1024];

			dns_name_to_text(q + DNS_HDR_LEN, txt, sizeof(txt));
			fprintf(stderr,
				"MISMATCH %s type %u expect %s: len %zu rcode "
				"%u aa %d qr %d tc %d echo %d an %u ns %u ar %u "
				"first-an %d first-ns %d info 0x%x\n", txt,
				qs[i].qtype, expect_names[qs[i].expect], rl,
				v.rcode, v.aa, v.qr, v.tc, v.echo, v.an, v.ns,
				v.ar, v.first_an, v.first_ns, info.flags);
		}
	}
	printf("queries     %zu from %s, %.1f bytes/response average\n", nq,
	       qfile, (double)bytes / (double)nq);
	printf("rcodes      NOERROR %lu, NXDOMAIN %lu, REFUSED %lu, "
	       "SERVFAIL %lu, FORMERR %lu, other %lu, dropped %lu; "
	       "TC %lu, wildcard %lu, referral %lu\n",
	       rcodes[DNS_R_NOERROR], rcodes[DNS_R_NXDOMAIN],
	       rcodes[DNS_R_REFUSED], rcodes[DNS_R_SERVFAIL],
	       rcodes[DNS_R_FORMERR],
	       nq - dropped - rcodes[0] - rcodes[3] - rcodes[5] - rcodes[2] -
		       rcodes[1], dropped, tc, wild, refer);
	printf("checks     ");
	for (int e = 0; e < EXP_COUNT; e++)
		if (nexp[e])
			printf(" %s %lu/%lu", expect_names[e], ok[e], nexp[e]);
	printf("%s\n", nbad ? "  <-- WRONG ANSWERS" : "  (all as expected)");

	/* Every query again in bursts of 32, as a worker answers: each
	 * response byte for byte, and its info, as the single answer gave.
	 * Not with --count, whose callgrind runs count every burst. Built
	 * for an A/B, each version against its own single answer, and A's
	 * bursts against B's: the two are to answer alike. */
	if (!count) {
#ifdef DITTO_BENCH_AB
		nbad += burst_check(zones, &cfg, pk, qs, nq, ab_a_answer,
				    ab_a_answer_burst, NULL, "A", quiet);
		nbad += burst_check(zones, &cfg, pk, qs, nq, ab_b_answer,
				    ab_b_answer_burst, NULL, "B", quiet);
		nbad += burst_check(zones, &cfg, pk, qs, nq, NULL,
				    ab_b_answer_burst, ab_a_answer_burst,
				    "B against A", quiet);
#else
		nbad += burst_check(zones, &cfg, pk, qs, nq, ditto_answer,
				    ditto_answer_burst, NULL, NULL, quiet);
#endif
	}

	/* Timed answering. */
	unsigned long sink = 0;
	double ns_q, *per = calloc((size_t)rounds, sizeof(double));
	size_t qi = 0;

	if (!per)
		return 1;
	for (long r = 0; r < rounds; r++) {
		double dur = seconds / (double)rounds, el;
		unsigned long n = 0;

		t0 = now_s();
		do {
			/* Blocks of 1024 (--count: the last one shorter). */
			int block = count && count - (long)n < 1024
					    ? (int)(count - (long)n) : 1024;
			for (int k = 0; k < block && single; k++) {
				struct ditto_answer_info info;

				sink += ditto_answer(zones, &cfg, pk + qs[qi].off,
						     qs[qi].len, resp,
						     sizeof(resp), 0, &info);
				if (++qi == nq)
					qi = 0;
			}
			/* Bursts of 32, as a dataplane worker answers. */
			for (int k = 0; k < block && !single;
			     k += DITTO_BURST_MAX) {
				struct ditto_query b[DITTO_BURST_MAX];
				int m = block - k < DITTO_BURST_MAX
						? block - k : DITTO_BURST_MAX;

				for (int j = 0; j < m; j++) {
					b[j].q = pk + qs[qi].off;
					b[j].qlen = (uint16_t)qs[qi].len;
					b[j].resp = burst_resp[j];
					b[j].cap = sizeof(burst_resp[j]);
					b[j].client = NULL;
					if (++qi == nq)
						qi = 0;
				}
				TIMED_BURST(r)(zones, &cfg, b, (unsigned)m, 0);
				for (int j = 0; j < m; j++)
					sink += b[j].resp_len;
			}
			n += (unsigned long)block;
			el = now_s() - t0;
		} while (count ? (long)n < count : el < dur);
		per[r] = el * 1e9 / (double)n;
		if (!quiet)
			printf("round %ld%s     %lu queries in %.3f s: "
			       "%.1f ns/query\n", r + 1, ROUND_TAG(r), n, el,
			       per[r]);
	}
	qsort(per, (size_t)rounds, sizeof(double), cmp_double);
	ns_q = per[rounds / 2];
	printf("answer      %.1f ns/query (median of %ld, best %.1f), "
	       "%.3f Mqps/core, cpu %d\n", ns_q, rounds, per[0], 1e3 / ns_q,
	       cpu);
	printf("RESULT records=%zu names=%zu compile_s=%.4f s_per_Mrec=%.4f "
	       "image_bytes=%zu image_B_per_rec=%.2f peak_B_per_rec=%.2f "
	       "held_B_per_rec=%.2f ns_per_query=%.2f ns_best=%.2f mqps=%.4f "
	       "queries=%zu "
	       "wrong=%lu noerror=%lu nxdomain=%lu other=%lu sink=%lu\n",
	       comp.records, comp.names, compile_s, compile_s * 1e6 / recs,
	       comp.size, (double)comp.size / recs, peak_b / recs,
	       held_b / recs, ns_q, per[0], 1e3 / ns_q, nq, nbad,
	       rcodes[DNS_R_NOERROR], rcodes[DNS_R_NXDOMAIN],
	       nq - rcodes[0] - rcodes[3], sink & 1);

	ditto_zone_table_free(zones);
	ditto_zone_table_free(t_empty);
	ditto_image_free(img);
	ditto_compiled_free(&comp);
	free(per);
	free(qs);
	free(pk);
	return nbad ? 3 : 0;
}
