/* A main() for the fuzz targets where libFuzzer is not used (gcc, or the
 * test suite): run each file, or every file in each directory, through
 * LLVMFuzzerTestOneInput; with --random N, also N inputs mutated from
 * those seeds by a fixed PRNG, so a run is reproducible. An input that
 * aborts (a sanitizer report, a broken invariant) is written to
 * fuzz-crash-<pid> in the working directory, to be run again alone. */
#ifdef DITTO_FUZZ_REPLAY

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rng.h"
#include "fuzz.h"

#define REPLAY_MAX 65536

struct seed {
	uint8_t *data;
	size_t len;
};

static struct seed *seeds;
static size_t nseeds, capseeds;

static int add_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = malloc(REPLAY_MAX);

	if (!f || !buf) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		free(buf);
		if (f)
			fclose(f);
		return -1;
	}
	size_t n = fread(buf, 1, REPLAY_MAX, f);
	fclose(f);
	if (nseeds == capseeds) {
		capseeds = capseeds ? 2 * capseeds : 64;
		seeds = realloc(seeds, capseeds * sizeof(*seeds));
	}
	seeds[nseeds++] = (struct seed){ buf, n };
	return 0;
}

static int add_path(const char *path)
{
	struct stat st;

	if (stat(path, &st) < 0) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode))
		return add_file(path);
	DIR *d = opendir(path);
	if (!d)
		return -1;
	struct dirent *e;
	int rc = 0;
	while ((e = readdir(d))) {
		char sub[4096];
		if (e->d_name[0] == '.')
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name);
		if (stat(sub, &st) == 0 && S_ISREG(st.st_mode) &&
		    add_file(sub) < 0)
			rc = -1;
	}
	closedir(d);
	return rc;
}

/* The input being run, for the abort handler. */
static const uint8_t *volatile current;
static volatile size_t current_len;

static void write_all(int fd, const void *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w <= 0)
			return;
		p = (const uint8_t *)p + w;
		n -= (size_t)w;
	}
}

/* Async-signal-safe: the input to a file, then the default action. */
static void on_abort(int sig)
{
	char path[64] = "fuzz-crash-";
	size_t o = strlen(path);
	char digits[20];
	int nd = 0;

	for (long pid = getpid(); pid && nd < 20; pid /= 10)
		digits[nd++] = (char)('0' + pid % 10);
	while (nd)
		path[o++] = digits[--nd];
	path[o] = 0;
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	if (fd >= 0 && current) {
		write_all(fd, current, current_len);
		close(fd);
		write_all(2, "input written to ", 17);
		write_all(2, path, o);
		write_all(2, "\n", 1);
	}
	signal(sig, SIG_DFL);
	raise(sig);
}

static void run(const uint8_t *in, size_t len)
{
	current = in;
	current_len = len;
	LLVMFuzzerTestOneInput(in, len);
	current = NULL;
}

static uint64_t rng_state = 0x5eed5eed5eed5eedULL;

static uint64_t rng(void)
{
	return rng_next(&rng_state);
}

static size_t mutate(uint8_t *b, size_t len)
{
	static const uint8_t interesting[] = { 0, 1, 0x3f, 0x40, 0x7f, 0x80,
					       0xc0, 0xff };
	static const int in_place[] = { 0, 1, 2, 3, 7 };
	/* Mostly keep the length: an image whose sections all shift is
	 * refused at once and reaches none of the deeper checks. */
	bool keep_len = rng() % 10 < 7;
	int rounds = 1 + (int)(rng() % (keep_len ? 4 : 8));

	for (int i = 0; i < rounds; i++) {
		size_t pos = len ? rng() % len : 0;
		int op = keep_len ? in_place[rng() % 5] : (int)(rng() % 9);
		switch (op) {
		case 0:		/* flip a bit */
			if (len)
				b[pos] ^= (uint8_t)(1u << (rng() % 8));
			break;
		case 1:		/* random byte */
			if (len)
				b[pos] = (uint8_t)rng();
			break;
		case 2:		/* interesting byte */
			if (len)
				b[pos] = interesting[rng() % sizeof(interesting)];
			break;
		case 3:		/* interesting 16-bit value, either order */
			if (pos + 2 <= len) {
				uint16_t v = (uint16_t)(rng() & 1 ? 0xffff
						: rng() % 600);
				b[pos] = (uint8_t)(v >> 8);
				b[pos + 1] = (uint8_t)v;
			}
			break;
		case 4:		/* insert a byte */
			if (len < REPLAY_MAX) {
				memmove(b + pos + 1, b + pos, len - pos);
				b[pos] = (uint8_t)rng();
				len++;
			}
			break;
		case 5:		/* delete a run */
			if (len) {
				size_t n = 1 + rng() % 8;
				if (n > len - pos)
					n = len - pos;
				memmove(b + pos, b + pos + n, len - pos - n);
				len -= n;
			}
			break;
		case 6:		/* truncate */
			len = pos;
			break;
		case 7:		/* copy a run within the input */
			if (len > 4) {
				size_t from = rng() % len, n = 1 + rng() % 16;
				if (from + n > len)
					n = len - from;
				if (pos + n > len)
					n = len - pos;
				memmove(b + pos, b + from, n);
			}
			break;
		case 8:		/* splice the tail of another seed */
		{
			const struct seed *s = &seeds[rng() % nseeds];
			size_t from = s->len ? rng() % s->len : 0;
			size_t n = s->len - from;
			if (pos + n > REPLAY_MAX)
				n = REPLAY_MAX - pos;
			memcpy(b + pos, s->data + from, n);
			len = pos + n;
			break;
		}
		}
	}
	return len;
}

int main(int argc, char **argv)
{
	unsigned long random_n = 0;
	int rc = 0;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--random") == 0 && i + 1 < argc)
			random_n = strtoul(argv[++i], NULL, 10);
		else if (add_path(argv[i]) < 0)
			rc = 1;
	}
	if (nseeds == 0) {
		fprintf(stderr, "usage: %s [--random N] file|dir...\n"
			"(no inputs found)\n", argv[0]);
		return 1;
	}
	signal(SIGABRT, on_abort);
	for (size_t i = 0; i < nseeds; i++) {
		/* exactly sized, as the random inputs are */
		uint8_t *in = malloc(seeds[i].len ? seeds[i].len : 1);
		memcpy(in, seeds[i].data, seeds[i].len);
		run(in, seeds[i].len);
		free(in);
	}

	uint8_t *buf = malloc(REPLAY_MAX + 1);
	for (unsigned long i = 0; i < random_n; i++) {
		const struct seed *s = &seeds[rng() % nseeds];
		memcpy(buf, s->data, s->len);
		size_t len = mutate(buf, s->len);
		/* an exactly sized copy, so overreads are caught */
		uint8_t *in = malloc(len ? len : 1);
		memcpy(in, buf, len);
		run(in, len);
		free(in);
	}
	free(buf);
	printf("%s: %zu inputs replayed, %lu random inputs, no crash\n",
	       argv[0], nseeds, random_n);
	for (size_t i = 0; i < nseeds; i++)
		free(seeds[i].data);
	free(seeds);
	return rc;
}

#endif
