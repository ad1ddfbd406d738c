/* The configuration replaced while running: `reload` reads the file again,
 * `zone-add` and `zone-remove` change the file of zones added at run time
 * (state-dir/control/zones-added.json) and reload. A new configuration is
 * read and checked whole before anything changes; a bad one is refused
 * with its reason and the running one stays.
 *
 * Applying it: zones kept keep their data, timers and jobs (a job runs on
 * with the configuration it started under, which is kept until exit);
 * zones new to it are loaded from the state directory (or bootstrap);
 * zones gone from it are withdrawn from the dataplane (their files stay,
 * so adding one back resumes from them). Settings read only at start
 * (state directory, sockets, management and metrics addresses) must be
 * unchanged: a restart applies those.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "jsock.h"
#include "server.h"

static bool same_str(const char *a, const char *b)
{
	return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

/* Which setting read at start differs, or NULL. */
static const char *start_only_change(const struct cconf *a,
				     const struct cconf *b)
{
	if (!same_str(a->state_dir, b->state_dir))
		return "node: state-dir";
	if (!same_str(a->control_socket, b->control_socket))
		return "node: control-socket";
	if (!same_str(a->socket_group, b->socket_group))
		return "node: socket-group";
	if (!same_str(a->dataplane_socket, b->dataplane_socket))
		return "dataplane: socket";
	if (!same_str(a->metrics, b->metrics))
		return "node: metrics";
	if (a->n_listen != b->n_listen)
		return "node: management-addresses";
	for (size_t i = 0; i < a->n_listen; i++)
		if (strcmp(a->listen[i].text, b->listen[i].text) != 0)
			return "node: management-addresses";
	if (a->transfers_total != b->transfers_total)
		return "control: transfers-total (the worker pool)";
	return NULL;
}

static int by_name(const void *a, const void *b)
{
	const struct czone *x = *(struct czone *const *)a;
	const struct czone *y = *(struct czone *const *)b;

	return strcmp(x->name, y->name);
}

static const char *jstr_of(json_object *o, const char *key)
{
	json_object *v;

	return json_object_object_get_ex(o, key, &v) ?
		       json_object_get_string(v) : "";
}

/* Put nc in place of the running configuration. */
static int apply(struct server *s, struct cconf *nc, char *err,
		 size_t errlen)
{
	const char *what = start_only_change(s->conf, nc);
	struct czone **old = NULL, **nz = NULL;
	struct cconf **oc;
	unsigned *per = NULL;
	size_t n_old = s->n_zones, added = 0, removed = 0;
	char **wd;

	if (what) {
		snprintf(err, errlen, "%s changed: restart ditto-control to "
			 "apply it (nothing was changed)", what);
		return -1;
	}
	old = malloc((n_old + 1) * sizeof(*old));
	nz = calloc(nc->n_zones + 1, sizeof(*nz));
	per = calloc(nc->n_remotes + 1, sizeof(*per));
	oc = realloc(s->old_confs, (s->n_old_confs + 1) * sizeof(*oc));
	if (oc)
		s->old_confs = oc;
	wd = realloc(s->withdraw, (s->n_withdraw + n_old + 1) * sizeof(*wd));
	if (wd)
		s->withdraw = wd;
	if (!old || !nz || !per || !oc || !wd) {
		free(old);
		free(nz);
		free(per);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	memcpy(old, s->zones, n_old * sizeof(*old));
	qsort(old, n_old, sizeof(*old), by_name);
	bool *kept = calloc(n_old + 1, sizeof(*kept));

	if (!kept) {
		free(old);
		free(nz);
		free(per);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (size_t i = 0; i < nc->n_zones; i++) {
		struct czone key, *kp = &key, **hit;

		snprintf(key.name, sizeof(key.name), "%s", nc->zones[i].domain);
		hit = bsearch(&kp, old, n_old, sizeof(*old), by_name);
		if (hit) {
			(*hit)->conf = &nc->zones[i];
			kept[hit - old] = true;
			nz[i] = *hit;
			continue;
		}
		nz[i] = zone_new(s, &nc->zones[i]);
		if (!nz[i]) {
			for (size_t k = 0; k < i; k++)
				if (nz[k] && !bsearch(&nz[k], old, n_old,
						      sizeof(*old), by_name))
					zone_free(nz[k]);
			/* the kept ones point into nc: back to the old */
			for (size_t k = 0; k < n_old; k++)
				if (kept[k])
					old[k]->conf = cconf_zone_find(
						s->conf, old[k]->name);
			free(kept);
			free(old);
			free(nz);
			free(per);
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		added++;
		for (size_t w = 0; w < s->n_withdraw; w++)
			if (strcmp(s->withdraw[w], nz[i]->name) == 0) {
				free(s->withdraw[w]);
				s->withdraw[w] = s->withdraw[--s->n_withdraw];
				break;
			}
		clog_msg(LOG_NOTICE, "zone %s: added (%s)", nz[i]->name,
			 nz[i]->contents ? "serving its saved data" :
					   "to be transferred");
	}
	for (size_t k = 0; k < n_old; k++) {
		struct czone *z = old[k];

		if (kept[k])
			continue;
		removed++;
		clog_msg(LOG_NOTICE, "zone %s: removed; withdrawn from the "
			 "dataplane", z->name);
		notify_forget(s, z);
		s->withdraw[s->n_withdraw] = strdup(z->name);
		if (s->withdraw[s->n_withdraw])
			s->n_withdraw++;
		if (z->job)
			z->removed = true;	/* freed with its job */
		else
			zone_free(z);
	}
	free(kept);
	free(old);
	/* The transfers running, counted against the new remotes. */
	for (size_t i = 0; i < nc->n_zones; i++) {
		if (!nz[i]->job)
			continue;
		for (size_t r = 0; r < nc->n_remotes; r++)
			if (strcasecmp(nc->remotes[r].id,
				       nz[i]->job->remote_id) == 0)
				per[r]++;
	}
	free(s->zones);
	s->zones = nz;
	s->n_zones = nc->n_zones;
	free(s->per_remote);
	s->per_remote = per;
	s->old_confs[s->n_old_confs++] = s->conf;
	s->conf = nc;
	clog_level = nc->log_level;
	clog_msg(LOG_NOTICE, "configuration %s applied: %zu zones (%zu added, "
		 "%zu removed)", nc->file, nc->n_zones, added, removed);
	dp_reconcile(s);
	sched_run(s, time(NULL));
	return 0;
}

/* Load the configuration with added as the file of added zones and apply
 * it. */
static int load_apply(struct server *s, const char *added, char *err,
		      size_t errlen)
{
	struct cconf *nc = NULL;

	if (cconf_load_with(s->conf->file, added, &nc, err, errlen) < 0)
		return -1;
	if (apply(s, nc, err, errlen) < 0) {
		cconf_free(nc);
		return -1;
	}
	return 0;
}

int server_reload(struct server *s, char *err, size_t errlen)
{
	int rc = load_apply(s, s->added_path, err, errlen);

	if (rc < 0)
		clog_msg(LOG_ERR, "reload refused: %s", err);
	return rc;
}

/* The zones of the added file now (an empty list when none). */
static json_object *added_zones(const struct server *s)
{
	json_object *o = json_object_from_file(s->added_path), *z;

	if (o && json_object_object_get_ex(o, "zones", &z) &&
	    json_object_is_type(z, json_type_array)) {
		json_object_get(z);
		json_object_put(o);
		return z;
	}
	json_object_put(o);
	return json_object_new_array();
}

/* Write zones as the added file, through a checked reload: the file is
 * replaced only when the configuration with it loads and applies. */
static int replace_added(struct server *s, json_object *zones, char *err,
			 size_t errlen)
{
	char tmp[4300];
	json_object *o = json_object_new_object();
	const char *text;
	int rc;

	json_object_object_add(o, "zones", json_object_get(zones));
	text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY);
	snprintf(tmp, sizeof(tmp), "%s.new", s->added_path);
	rc = ditto_file_write(tmp, text, strlen(text), 0640);
	json_object_put(o);
	if (rc < 0) {
		snprintf(err, errlen, "cannot write %s: %s", tmp,
			 strerror(-rc));
		return -1;
	}
	if (load_apply(s, tmp, err, errlen) < 0) {
		unlink(tmp);
		return -1;
	}
	if (rename(tmp, s->added_path) != 0) {
		/* Applied but not kept: say so; a restart loses it. */
		snprintf(err, errlen, "applied, but %s could not be replaced: "
			 "%s", s->added_path, strerror(errno));
		unlink(tmp);
		return -1;
	}
	return 0;
}

int zone_add(struct server *s, json_object *spec, char *err, size_t errlen)
{
	static const char *const keys[] = { "primaries", "notify-from",
		"allow-transfer", "notify", "ixfr", "expire-edns", NULL };
	json_object *zones = added_zones(s), *z = json_object_new_object(), *v;
	const char *name = NULL;
	int rc;

	if (json_object_object_get_ex(spec, "zone", &v))
		name = json_object_get_string(v);
	if (!name || !*name) {
		snprintf(err, errlen, "zone-add needs \"zone\" and "
			 "\"primaries\"");
		rc = -1;
		goto out;
	}
	if (zone_by_name(s, name)) {
		snprintf(err, errlen, "zone %s is configured already", name);
		rc = -1;
		goto out;
	}
	if (s->n_zones >= s->conf->max_zones) {
		s->zones_refused++;
		snprintf(err, errlen, "zone %s refused: the node has %zu zones, "
			 "control: max-zones is %u", name, s->n_zones,
			 s->conf->max_zones);
		clog_msg(LOG_WARNING, "%s", err);
		rc = -1;
		goto out;
	}
	json_object_object_add(z, "domain", json_object_new_string(name));
	json_object_object_foreach(spec, k, val) {
		bool known = false;

		for (size_t i = 0; keys[i]; i++)
			known |= strcmp(k, keys[i]) == 0;
		if (known)
			json_object_object_add(z, k, json_object_get(val));
		else if (strcmp(k, "cmd") != 0 && strcmp(k, "zone") != 0) {
			snprintf(err, errlen, "zone-add: unknown key \"%s\" "
				 "(known: zone, primaries, notify-from, "
				 "allow-transfer, notify, ixfr, expire-edns)", k);
			rc = -1;
			goto out;
		}
	}
	json_object_array_add(zones, json_object_get(z));
	rc = replace_added(s, zones, err, errlen);
	if (rc == 0)
		clog_msg(LOG_NOTICE, "zone %s: added at run time", name);
out:
	json_object_put(z);
	json_object_put(zones);
	return rc;
}

int zone_remove(struct server *s, const char *name, char *err, size_t errlen)
{
	struct czone *z = zone_by_name(s, name);
	json_object *zones, *keep;
	int rc;

	if (!z) {
		snprintf(err, errlen, "zone %s is not configured", name);
		return -1;
	}
	if (!z->conf->added) {
		snprintf(err, errlen, "zone %s is in the configuration file %s "
			 "(line %u): remove it there and reload", z->name,
			 s->conf->file, z->conf->line);
		return -1;
	}
	zones = added_zones(s);
	keep = json_object_new_array();
	for (size_t i = 0; i < json_object_array_length(zones); i++) {
		json_object *e = json_object_array_get_idx(zones, i);
		const struct cconf_zone *zc = cconf_zone_find(
			s->conf, jstr_of(e, "domain"));

		if (zc != z->conf)
			json_object_array_add(keep, json_object_get(e));
	}
	rc = replace_added(s, keep, err, errlen);
	json_object_put(keep);
	json_object_put(zones);
	return rc;
}
