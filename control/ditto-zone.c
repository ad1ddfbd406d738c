/* ditto-zone: the offline tool. Check and compile zone files, dump images
 * back to zone text, and answer framed queries from images as a node. */
#include <errno.h>
#include <getopt.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ldns/ldns.h>

#include "compile.h"
#include "ditto/error.h"
#include "ditto/wire.h"
#include "engine.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: ditto-zone check [--origin NAME] ZONEFILE\n"
		"       ditto-zone compile [--origin NAME] ZONEFILE -o IMAGE\n"
		"       ditto-zone dump IMAGE\n"
		"       ditto-zone answer [--identity STR] [--nsid STR] "
		"[--edns-size N] [--tcp] IMAGE...\n"
		"answer reads queries framed as in DNS over TCP on standard "
		"input and\nwrites framed responses (an empty frame for a "
		"dropped query).\n");
}

static int cmd_compile(int argc, char **argv, bool write)
{
	static const struct option lo[] = {
		{ "origin", required_argument, NULL, 'O' },
		{ "output", required_argument, NULL, 'o' },
		{ NULL, 0, NULL, 0 },
	};
	struct ditto_compile_opts opts = { .log = stderr };
	const char *out = NULL;
	int c;

	while ((c = getopt_long(argc, argv, "o:", lo, NULL)) != -1) {
		switch (c) {
		case 'O': opts.origin = optarg; break;
		case 'o': out = optarg; break;
		default: usage(stderr); return 2;
		}
	}
	if (optind + 1 != argc || (write && !out)) {
		usage(stderr);
		return 2;
	}
	struct ditto_compiled res;
	int rc = ditto_compile_file(argv[optind], &opts, &res);
	if (rc < 0) {
		fprintf(stderr, "%s: refused: %s (%u error%s)\n", argv[optind],
			res.first_error, res.errors, res.errors == 1 ? "" : "s");
		return 1;
	}
	if (write) {
		rc = ditto_image_write(out, res.image, res.size);
		if (rc < 0) {
			fprintf(stderr, "%s: %s\n", out, ditto_strerror(rc));
			ditto_compiled_free(&res);
			return 1;
		}
	}
	printf("%s: serial %u, %zu records, %zu names, %zu image bytes, "
	       "%u warning%s\n", argv[optind], res.serial, res.records,
	       res.names, res.size, res.warnings,
	       res.warnings == 1 ? "" : "s");
	ditto_compiled_free(&res);
	return 0;
}

/* Print the answer section of a rendered message (what names the
 * records in the error when it does not parse). */
static int dump_message(const char *path, const char *what,
			const uint8_t *buf, size_t len)
{
	ldns_pkt *pkt = NULL;

	if (!len || ldns_wire2pkt(&pkt, buf, len) != LDNS_STATUS_OK) {
		fprintf(stderr, "%s: %s does not render\n", path, what);
		return 1;
	}
	ldns_rr_list *an = ldns_pkt_answer(pkt);
	for (size_t j = 0; j < ldns_rr_list_rr_count(an); j++) {
		char *s = ldns_rr2str(ldns_rr_list_rr(an, j));
		fputs(s, stdout);
		free(s);
	}
	ldns_pkt_free(pkt);
	return 0;
}

static int cmd_dump(int argc, char **argv)
{
	struct ditto_image *img;
	char err[512];
	static uint8_t buf[65536];

	if (argc != 2) {
		usage(stderr);
		return 2;
	}
	if (ditto_image_load_file(argv[1], &img, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	char apex[1024];
	printf("; image of %s serial %u\n$ORIGIN %s\n",
	       dns_name_to_text(img->hdr->apex, apex, sizeof(apex)),
	       img->hdr->serial, apex);
	int rc = 0;
	for (uint32_t i = 0; i < img->hdr->node_count && rc == 0; i++) {
		const struct ditto_node *n = &img->nodes[i];
		for (unsigned k = 0; k < n->rrset_count && rc == 0; k++) {
			const struct ditto_rrset *rs = &img->rrsets[n->rrsets + k];
			char what[64];
			snprintf(what, sizeof(what), "node %u type %u", i,
				 rs->type);
			rc = dump_message(argv[1], what, buf,
					  ditto_image_render_rrset(img, n, rs, false,
								   buf,
								   sizeof(buf)));
		}
	}
	/* The NSEC3 chain is no part of the tree of nodes. */
	for (uint32_t i = 0; img->nsec3 && i < img->nsec3->count && rc == 0; i++)
		rc = dump_message(argv[1], "an NSEC3 record", buf,
				  ditto_image_render_denial(
					  img, img->nsec3_entries[i].block, buf,
					  sizeof(buf)));
	ditto_image_free(img);
	return rc;
}

static bool read_full(uint8_t *p, size_t n)
{
	return fread(p, 1, n, stdin) == n;
}

static int cmd_answer(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "identity", required_argument, NULL, 'i' },
		{ "nsid", required_argument, NULL, 'n' },
		{ "edns-size", required_argument, NULL, 'e' },
		{ "tcp", no_argument, NULL, 't' },
		{ NULL, 0, NULL, 0 },
	};
	struct ditto_answer_cfg cfg = { .edns_max = DITTO_EDNS_DEFAULT };
	const char *identity = NULL, *nsid = NULL;
	unsigned flags = 0;
	int c;

	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'i': identity = optarg; break;
		case 'n': nsid = optarg; break;
		case 'e': {
			char *end;
			unsigned long v = strtoul(optarg, &end, 10);
			if (*end || v < 512 || v > 65535) {
				fprintf(stderr, "--edns-size: 512 to 65535\n");
				return 2;
			}
			cfg.edns_max = (uint16_t)v;
			break;
		}
		case 't': flags |= DITTO_ANSWER_TCP; break;
		default: usage(stderr); return 2;
		}
	}
	if (identity && strlen(identity) > 255) {
		fprintf(stderr, "--identity: at most 255 bytes\n");
		return 2;
	}
	if (nsid && strlen(nsid) > 255) {
		fprintf(stderr, "--nsid: at most 255 bytes\n");
		return 2;
	}
	if (!nsid)
		nsid = identity;
	if (identity) {
		cfg.identity = (const uint8_t *)identity;
		cfg.identity_len = (uint8_t)strlen(identity);
	}
	if (nsid) {
		cfg.nsid = (const uint8_t *)nsid;
		cfg.nsid_len = (uint8_t)strlen(nsid);
	}
	if (optind >= argc) {
		usage(stderr);
		return 2;
	}

	struct ditto_zone_table *zt = ditto_zone_table_new();
	int rc = 0;
	for (int i = optind; i < argc && zt; i++) {
		struct ditto_image *img, *old;
		char err[512];
		if (ditto_image_load_file(argv[i], &img, err, sizeof(err)) < 0) {
			fprintf(stderr, "%s\n", err);
			rc = 1;
			goto out;
		}
		struct ditto_zone_table *nt = ditto_zone_table_with(zt, img, &old);
		if (!nt) {
			ditto_image_free(img);
			rc = 1;
			goto out;
		}
		ditto_zone_table_free(zt);
		ditto_image_free(old);
		zt = nt;
	}
	if (!zt)
		return 1;

	static uint8_t q[65536], resp[65536];
	for (;;) {
		uint8_t lb[2];
		if (!read_full(lb, 2))
			break;
		size_t len = dns_get16(lb);
		if (!read_full(q, len)) {
			fprintf(stderr, "truncated frame on input\n");
			rc = 1;
			break;
		}
		size_t n = ditto_answer(zt, &cfg, q, len, resp, sizeof(resp),
					flags, NULL);
		dns_put16(lb, (unsigned)n);
		if (fwrite(lb, 1, 2, stdout) != 2 ||
		    fwrite(resp, 1, n, stdout) != n || fflush(stdout) != 0) {
			rc = 1;
			break;
		}
	}
out:
	if (zt) {
		for (size_t i = 0; i < ditto_zone_table_count(zt); i++)
			ditto_image_free(ditto_zone_table_at(zt, i));
		ditto_zone_table_free(zt);
	}
	return rc;
}

int main(int argc, char **argv)
{
	/* ldns allocates and frees 64 KiB buffers for every record it parses;
	 * with the default trim threshold glibc shrinks and grows the heap by
	 * brk() each time, which cost a third of compile time. */
	mallopt(M_TRIM_THRESHOLD, 256 << 20);
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	const char *cmd = argv[1];
	argc--;
	argv++;
	if (strcmp(cmd, "check") == 0)
		return cmd_compile(argc, argv, false);
	if (strcmp(cmd, "compile") == 0)
		return cmd_compile(argc, argv, true);
	if (strcmp(cmd, "dump") == 0)
		return cmd_dump(argc, argv);
	if (strcmp(cmd, "answer") == 0)
		return cmd_answer(argc, argv);
	if (strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0) {
		usage(stdout);
		return 0;
	}
	fprintf(stderr, "ditto-zone: unknown command '%s'\n", cmd);
	usage(stderr);
	return 2;
}
