/* A zone's files in the state directory: its contents (contents.c), the
 * image compiled from them, and its timers and history as JSON, so that
 * after a restart or a crash the zone serves at once and its expiry
 * counts from the real last refresh.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include <json-c/json.h>

#include "ditto/error.h"
#include "ditto/image.h"
#include "engine.h"
#include "server.h"

/* File names from the zone name: lowercase letters, digits, '-', '_' and
 * '.' as they are, anything else as %XX, the root as "root". */
void zone_paths(const char *dir, const char *zone, char *contents,
		char *image, char *state, size_t cap)
{
	char base[1024];
	size_t n = 0, len = strlen(zone);

	if (len > 1 && zone[len - 1] == '.')
		len--;
	if (len == 1 && zone[0] == '.')
		len = 0;
	for (size_t i = 0; i < len && n + 4 < sizeof(base); i++) {
		unsigned char c = (unsigned char)zone[i];

		if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '_' || (c == '.' && i > 0))
			base[n++] = (char)c;
		else
			n += (size_t)snprintf(base + n, sizeof(base) - n,
					      "%%%02X", c);
	}
	base[n] = 0;
	if (!n)
		snprintf(base, sizeof(base), "root");
	snprintf(contents, cap, "%s/%s.contents", dir, base);
	snprintf(image, cap, "%s/%s.img", dir, base);
	snprintf(state, cap, "%s/%s.state", dir, base);
}

void zone_journal_path(const char *contents_path, char *out, size_t cap)
{
	size_t n = strlen(contents_path) - strlen(".contents");

	snprintf(out, cap, "%.*s.journal", (int)n, contents_path);
}

static void add_i64(json_object *o, const char *k, int64_t v)
{
	json_object_object_add(o, k, json_object_new_int64(v));
}

int zone_state_save(const struct server *s, const struct czone *z)
{
	char cpath[4200], ipath[4200], spath[4200];
	json_object *o = json_object_new_object();
	const char *text;
	int rc;

	zone_paths(s->dir, z->name, cpath, ipath, spath, sizeof(cpath));
	json_object_object_add(o, "zone", json_object_new_string(z->name));
	json_object_object_add(o, "state",
			       json_object_new_string(zone_state_name(z->state)));
	if (z->contents)
		add_i64(o, "serial", z->serial);
	add_i64(o, "source", z->source);
	add_i64(o, "last-refresh", z->last_refresh);
	add_i64(o, "next-refresh", z->next_refresh);
	add_i64(o, "expire-at", z->expire_at);
	add_i64(o, "retries", z->retries);
	add_i64(o, "refresh", z->refresh);
	add_i64(o, "retry", z->retry);
	add_i64(o, "expire", z->expire);
	add_i64(o, "primary-serial", z->primary_serial);
	add_i64(o, "primary-used", z->primary_used);
	add_i64(o, "last-attempt", z->last_attempt);
	json_object_object_add(o, "last-result",
			       json_object_new_string(z->last_result));
	json_object_object_add(o, "last-error",
			       json_object_new_string(z->last_error));
	add_i64(o, "last-error-time", z->last_error_time);
	text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY);
	rc = ditto_file_write(spath, text, strlen(text), 0640);
	if (rc < 0)
		clog_msg(LOG_ERR, "zone %s: cannot save its state in %s: %s",
			 z->name, spath, strerror(-rc));
	json_object_put(o);
	return rc;
}

static int64_t get_i64(json_object *o, const char *k, int64_t dflt)
{
	json_object *v;

	return json_object_object_get_ex(o, k, &v) ? json_object_get_int64(v)
						    : dflt;
}

static void get_str(json_object *o, const char *k, char *out, size_t cap)
{
	json_object *v;

	if (json_object_object_get_ex(o, k, &v) &&
	    json_object_is_type(v, json_type_string))
		snprintf(out, cap, "%s", json_object_get_string(v));
}

/* Compile the contents again when the image file is missing or damaged. */
static int image_ensure(struct server *s, struct czone *z)
{
	struct ditto_image *img = NULL;
	struct ditto_compile_opts opts = { 0 };
	struct ditto_compiled out;
	char why[512];
	int rc;

	if (ditto_image_load_file(z->image, &img, why, sizeof(why)) == 0 &&
	    img->hdr->serial == z->serial) {
		ditto_image_free(img);
		return 0;
	}
	ditto_image_free(img);
	opts.limits.max_records = s->conf->max_zone_records;
	rc = contents_compile(z->contents, &opts, &out);
	if (rc == 0)
		rc = ditto_image_write(z->image, out.image, out.size);
	ditto_compiled_free(&out);
	if (rc == 0)
		clog_msg(LOG_NOTICE, "zone %s: image of serial %u compiled "
			 "again", z->name, z->serial);
	return rc;
}

int zone_state_load(struct server *s, struct czone *z)
{
	char cpath[4200], spath[4200], err[512];
	struct soa_fields soa;
	json_object *o;
	time_t now = time(NULL);
	int rc;

	zone_paths(s->dir, z->name, cpath, z->image, spath, sizeof(cpath));
	z->source = -1;
	z->primary_serial = -1;
	z->primary_used = -1;
	z->next_refresh = now;
	rc = contents_load(cpath, z->conf->wire, z->conf->wire_len,
			   &z->contents, err, sizeof(err));
	if (rc < 0 && rc != DITTO_ENOENT)
		clog_msg(LOG_ERR, "zone %s: saved contents refused (%s); it "
			 "will be transferred again", z->name, err);
	if (z->contents && !contents_soa(z->contents, &soa)) {
		clog_msg(LOG_ERR, "zone %s: saved contents have no SOA",
			 z->name);
		contents_free(z->contents);
		z->contents = NULL;
	}
	if (!z->contents) {
		z->state = ZS_BOOTSTRAP;
		z->image[0] = 0;
		return 0;
	}
	z->serial = z->snap_serial = soa.serial;
	char jpath[4200];

	zone_journal_path(cpath, jpath, sizeof(jpath));
	rc = journal_load(jpath, z->conf->wire, z->conf->wire_len, z->serial,
			  &z->journal, err, sizeof(err));
	if (rc < 0) {
		clog_msg(LOG_WARNING, "zone %s: %s; downstreams will take "
			 "AXFR until new differences come", z->name, err);
		z->journal = journal_new();
	}
	/* The contents saved last, brought up to the journal's end. */
	uint32_t reached;

	if (z->journal && journal_find(z->journal, z->serial) >= 0) {
		if (journal_replay(z->journal, z->serial, z->contents, &reached,
				   err, sizeof(err)) == 0 &&
		    contents_soa(z->contents, &soa) && soa.serial == reached) {
			clog_msg(LOG_INFO, "zone %s: saved serial %u brought to "
				 "%u by its journal", z->name, z->serial,
				 reached);
			z->serial = reached;
		} else {
			clog_msg(LOG_ERR, "zone %s: journal %s: %s; serving the "
				 "saved serial %u", z->name, jpath,
				 err[0] ? err : "it ends elsewhere", z->serial);
			contents_free(z->contents);
			z->contents = NULL;
			journal_free(z->journal);
			z->journal = journal_new();
			if (contents_load(cpath, z->conf->wire,
					  z->conf->wire_len, &z->contents, err,
					  sizeof(err)) < 0 ||
			    !contents_soa(z->contents, &soa)) {
				contents_free(z->contents);
				z->contents = NULL;
				z->state = ZS_BOOTSTRAP;
				z->image[0] = 0;
				return 0;
			}
		}
	}
	zone_timers_from_soa(s, z, &soa);
	if (image_ensure(s, z) < 0)
		clog_msg(LOG_ERR, "zone %s: no image of serial %u", z->name,
			 z->serial);
	o = json_object_from_file(spath);
	if (o) {
		z->source = (int)get_i64(o, "source", -1);
		z->last_refresh = (time_t)get_i64(o, "last-refresh", 0);
		z->next_refresh = (time_t)get_i64(o, "next-refresh", now);
		z->expire_at = (time_t)get_i64(o, "expire-at", 0);
		z->retries = (unsigned)get_i64(o, "retries", 0);
		z->primary_serial = get_i64(o, "primary-serial", -1);
		z->primary_used = (int)get_i64(o, "primary-used", -1);
		z->last_attempt = (time_t)get_i64(o, "last-attempt", 0);
		z->last_error_time = (time_t)get_i64(o, "last-error-time", 0);
		get_str(o, "last-result", z->last_result,
			sizeof(z->last_result));
		get_str(o, "last-error", z->last_error, sizeof(z->last_error));
		json_object_put(o);
	}
	/* Contents without a state file (a crash between the two writes):
	 * their age is unknown, so they are as old as the file. */
	if (!z->last_refresh) {
		struct stat st;

		z->last_refresh = stat(cpath, &st) == 0 ? st.st_mtime : now;
		z->expire_at = z->last_refresh + z->expire;
	}
	if (z->source >= (int)z->conf->n_primaries)
		z->source = -1;
	z->state = z->expire_at && now >= z->expire_at ? ZS_EXPIRED : ZS_OK;
	if (z->next_refresh > now + (time_t)z->refresh)
		z->next_refresh = now + z->refresh;
	clog_msg(LOG_INFO, "zone %s: serial %u from the state directory (%s, "
		 "last refreshed %ld s ago)", z->name, z->serial,
		 zone_state_name(z->state), (long)(now - z->last_refresh));
	return 0;
}
