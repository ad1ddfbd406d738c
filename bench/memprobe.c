/* memprobe: what a random cache line costs on this machine, so that the
 * engine's figures on zones larger than the caches can be read. It
 * chases pointers through a buffer of S MiB (transparent huge pages, as
 * the dataplane keeps images), each line visited once a round in a random
 * order, with K chases interleaved: K = 1 is the latency of one miss, a
 * larger K the rate at which the core can have lines fetched when it
 * keeps K of them in flight, as the engine's burst does with its
 * prefetches. One line per 4 KiB page (--page) keeps the lines few enough
 * for the L2 and spreads them over pages: the cost of address translation.
 *
 *   memprobe [--mib S] [--chains K] [--page] [--accesses N] [--cpu C]
 *   memprobe --levels L [--burst B] [--mib S] [--accesses N] [--cpu C]
 *
 * Prints one RESULT line: mib, chains, page, ns_per_access.
 *
 * --levels: the engine's access pattern without the engine. The buffer
 * is cut into L regions; a "query" reads one random line in each, the
 * line in region k holding where its line in region k + 1 is (an index
 * slot naming a node naming its RRsets naming a block). Queries go in
 * bursts of B, staged as the engine's burst is: every query's line of
 * one level is prefetched before any is read for the next. Prints ns a
 * query: what the memory alone costs the engine's staging, to compare
 * with the engine's time on a zone in cache and on one that is not.
 */
#include <errno.h>
#include <getopt.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#define LINE 64
#define PAGE 4096
#define CHAINS_MAX 64

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static uint64_t xorshift(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void usage(const char *prog)
{
	fprintf(stderr, "usage: %s [--mib S] [--chains K] [--page] "
		"[--accesses N] [--cpu C]\n"
		"       %s --levels L [--burst B] [--mib S] [--accesses N] "
		"[--cpu C]\n", prog, prog);
	exit(2);
}

#define LEVELS_MAX 8
#define BURST_MAX 256

/* --levels: bursts of staged dependent reads, one line per region. */
static void staged(uint8_t *buf, size_t size, size_t levels, size_t burst,
		   size_t queries, size_t mib)
{
	size_t region = size / levels / LINE;	/* lines a region */
	uint64_t seed = 0x2545f4914f6cdd1dULL;

	/* Each line of a region but the last names a random line of the
	 * next one (its byte offset in the buffer). */
	for (size_t k = 0; k + 1 < levels; k++)
		for (size_t i = 0; i < region; i++) {
			size_t next = ((k + 1) * region +
				       (size_t)(xorshift(&seed) % region)) * LINE;
			memcpy(buf + (k * region + i) * LINE, &next,
			       sizeof(next));
		}

	size_t at[BURST_MAX], sink = 0;
	size_t bursts = queries / burst;
	double t0 = 0;
	for (size_t b = 0; b < bursts + bursts / 10; b++) {
		if (b == bursts / 10)
			t0 = now();	/* a tenth first, to a steady state */
		for (size_t q = 0; q < burst; q++) {
			at[q] = (size_t)(xorshift(&seed) % region) * LINE;
			__builtin_prefetch(buf + at[q]);
		}
		for (size_t k = 1; k < levels; k++)
			for (size_t q = 0; q < burst; q++) {
				memcpy(&at[q], buf + at[q], sizeof(at[q]));
				__builtin_prefetch(buf + at[q]);
			}
		for (size_t q = 0; q < burst; q++)
			sink += buf[at[q] + 8];
	}
	double ns = (now() - t0) * 1e9 / (double)(bursts * burst);

	printf("memprobe    %zu MiB in %zu regions, bursts of %zu: %.1f ns a "
	       "query (%zu dependent lines)\n", mib, levels, burst, ns, levels);
	printf("RESULT mib=%zu levels=%zu burst=%zu ns_per_query=%.2f "
	       "sink=%zu\n", mib, levels, burst, ns, sink & 1);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "mib", required_argument, NULL, 'm' },
		{ "chains", required_argument, NULL, 'k' },
		{ "page", no_argument, NULL, 'p' },
		{ "accesses", required_argument, NULL, 'n' },
		{ "cpu", required_argument, NULL, 'c' },
		{ "levels", required_argument, NULL, 'l' },
		{ "burst", required_argument, NULL, 'b' },
		{ NULL, 0, NULL, 0 },
	};
	size_t mib = 22, chains = 1, accesses = 20000000, levels = 0,
	       burst = 32;
	int cpu = 1, page = 0, o;

	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 'm': mib = strtoul(optarg, NULL, 0); break;
		case 'k': chains = strtoul(optarg, NULL, 0); break;
		case 'p': page = 1; break;
		case 'n': accesses = strtoul(optarg, NULL, 0); break;
		case 'c': cpu = atoi(optarg); break;
		case 'l': levels = strtoul(optarg, NULL, 0); break;
		case 'b': burst = strtoul(optarg, NULL, 0); break;
		default: usage(argv[0]);
		}
	}
	if (optind != argc || mib == 0 || mib > 65536 || chains == 0 ||
	    chains > CHAINS_MAX || accesses == 0 || levels > LEVELS_MAX ||
	    burst == 0 || burst > BURST_MAX)
		usage(argv[0]);

	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set) != 0)
		fprintf(stderr, "memprobe: cpu %d: %s (not pinned)\n", cpu,
			strerror(errno));

	size_t size = mib << 20, stride = page ? PAGE : LINE;
	size_t n = size / stride;
	/* C11 wants the size a multiple of the alignment: round it up, the
	 * probe still walks only the first mib MiB. */
	size_t huge = 2u << 20;
	uint8_t *buf = aligned_alloc(huge, (size + huge - 1) / huge * huge);
	size_t *order = malloc(n * sizeof(*order));
	if (!buf || !order || n < chains) {
		fprintf(stderr, "memprobe: out of memory\n");
		return 1;
	}
	(void)madvise(buf, size, MADV_HUGEPAGE);
	memset(buf, 0, size);
	if (levels) {
		free(order);
		staged(buf, size, levels, burst, accesses / levels, mib);
		free(buf);
		return 0;
	}

	/* A random cycle through the n slots (Fisher-Yates); in page mode
	 * each slot's line sits at a varying offset in its page, so the
	 * lines do not all fall into the same cache sets. */
	uint64_t seed = 0x9e3779b97f4a7c15ULL;
	for (size_t i = 0; i < n; i++)
		order[i] = i;
	for (size_t i = n - 1; i > 0; i--) {
		size_t j = (size_t)(xorshift(&seed) % (i + 1));
		size_t t = order[i];
		order[i] = order[j];
		order[j] = t;
	}
#define AT(slot) ((slot) * stride + (page ? ((slot) % (PAGE / LINE)) * LINE : 0))
	for (size_t i = 0; i < n; i++) {
		size_t next = AT(order[(i + 1) % n]);
		memcpy(buf + AT(order[i]), &next, sizeof(next));
	}

	size_t at[CHAINS_MAX];
	for (size_t k = 0; k < chains; k++)
		at[k] = AT(order[n / chains * k]);
	size_t rounds = accesses / chains;
	/* One pass first, so the timed part starts from a steady state. */
	for (size_t r = 0; r < n / chains && r < rounds; r++)
		for (size_t k = 0; k < chains; k++)
			memcpy(&at[k], buf + at[k], sizeof(at[k]));
	double t0 = now();
	for (size_t r = 0; r < rounds; r++)
		for (size_t k = 0; k < chains; k++)
			memcpy(&at[k], buf + at[k], sizeof(at[k]));
	double t1 = now();
	size_t sink = 0;
	for (size_t k = 0; k < chains; k++)
		sink += at[k];

	double ns = (t1 - t0) * 1e9 / (double)(rounds * chains);
	printf("memprobe    %zu MiB, %zu %s, %zu chase%s in flight: %.1f ns "
	       "an access\n", mib, n, page ? "lines one per 4 KiB page" :
	       "lines", chains, chains == 1 ? "" : "s", ns);
	printf("RESULT mib=%zu chains=%zu page=%d ns_per_access=%.2f "
	       "sink=%zu\n", mib, chains, page, ns, sink & 1);
	free(order);
	free(buf);
	return 0;
}
