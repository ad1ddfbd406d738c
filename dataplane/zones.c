/* Zones in the dataplane: the RCU-protected table, adoption of images, and
 * the copies in the state directory that let a restarted dataplane serve
 * before ditto-control says anything.
 *
 * Only the control thread (and start-up, before any reader exists) calls
 * these. Adoption is: load and validate, keep a copy in the state
 * directory, build the new table, swap the pointer, synchronize_rcu(), free
 * the old table and image. Readers never wait and never see a freed image.
 */
#define _LGPL_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <urcu-qsbr.h>

#include "ditto/error.h"
#include "ditto/wire.h"
#include "dp.h"

int dp_zone_name_norm(const char *in, char *out, size_t cap)
{
	size_t n = strlen(in);

	if (n == 0 || n + 2 > cap || n > 254)
		return -1;
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)in[i];

		if (ch <= ' ' || ch >= 0x7f)
			return -1;
		out[i] = (char)tolower(ch);
	}
	if (!(n == 1 && in[0] == '.') && in[n - 1] != '.')
		out[n++] = '.';
	out[n] = '\0';
	if (n > 1 && strstr(out, ".."))
		return -1;
	return 0;
}

/* Directory of the dataplane's image copies. */
static void image_dir(const struct dp *dp, char *buf, size_t cap)
{
	snprintf(buf, cap, "%s/dataplane", dp->conf.state_dir);
}

static int mkdir_p(const char *path)
{
	char tmp[DP_PATH_MAX + 16];

	snprintf(tmp, sizeof(tmp), "%s", path);
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, 0750) < 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	if (mkdir(tmp, 0750) < 0 && errno != EEXIST)
		return -1;
	return 0;
}

/* The file name of a zone's copy: its name without the final dot ("root"
 * for the root zone); dns_name_to_text() escapes '/' and anything odd. */
static int image_path(const struct dp *dp, const char *zone, char *buf,
		      size_t cap)
{
	char dir[DP_PATH_MAX + 16], base[300];
	size_t n;

	image_dir(dp, dir, sizeof(dir));
	if (strcmp(zone, ".") == 0) {
		snprintf(base, sizeof(base), "root");
	} else {
		snprintf(base, sizeof(base), "%s", zone);
		n = strlen(base);
		if (n && base[n - 1] == '.')
			base[n - 1] = '\0';
	}
	if (strchr(base, '/') || base[0] == '.')
		return -1;
	if ((size_t)snprintf(buf, cap, "%s/%s.img", dir, base) >= cap)
		return -1;
	return 0;
}

static int fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int rc;

	if (fd < 0)
		return -1;
	rc = fsync(fd);
	close(fd);
	return rc;
}

/* Whether the file at path holds img: its header (size, checksum of the
 * whole image, serial) is img's. */
static bool holds_image(const char *path, const struct ditto_image *img)
{
	struct ditto_image_hdr h;
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	bool same;

	if (fd < 0)
		return false;
	same = fstat(fd, &st) == 0 && (uint64_t)st.st_size == img->size &&
	       pread(fd, &h, sizeof(h), 0) == (ssize_t)sizeof(h) &&
	       memcmp(&h, img->hdr, sizeof(h)) == 0;
	close(fd);
	return same;
}

/* Keep the image as path, atomically (temporary name, rename, fsync of
 * the directory): a hard link to the file it was read from when that is
 * on the same file system and still holds it (ditto-control writes each
 * image as a new file, fsynced, and never changes one in place), which
 * costs nothing however large the zone; a copy, fsynced, otherwise. */
static int persist(const struct dp *dp, const struct ditto_image *img,
		   const char *src, const char *path, char *err,
		   size_t errlen)
{
	char dir[DP_PATH_MAX + 16], tmp[DP_PATH_MAX + 16];
	int fd;

	image_dir(dp, dir, sizeof(dir));
	if (mkdir_p(dir) < 0) {
		snprintf(err, errlen, "cannot create %s: %s", dir,
			 strerror(errno));
		return -1;
	}
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	(void)unlink(tmp);
	if (link(src, tmp) == 0) {
		if (holds_image(tmp, img) && rename(tmp, path) == 0) {
			fsync_dir(dir);
			return 0;
		}
		unlink(tmp);	/* replaced meanwhile: copy what we hold */
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	if (fd < 0) {
		snprintf(err, errlen, "cannot write %s: %s", tmp,
			 strerror(errno));
		return -1;
	}
	for (size_t off = 0; off < img->size;) {
		ssize_t w = write(fd, img->base + off, img->size - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			snprintf(err, errlen, "cannot write %s: %s", tmp,
				 strerror(errno));
			close(fd);
			unlink(tmp);
			return -1;
		}
		off += (size_t)w;
	}
	if (fsync(fd) < 0 || close(fd) < 0 || rename(tmp, path) < 0) {
		snprintf(err, errlen, "cannot store %s: %s", path,
			 strerror(errno));
		unlink(tmp);
		return -1;
	}
	fsync_dir(dir);
	return 0;
}

static ssize_t meta_find(const struct dp *dp, const char *zone)
{
	for (size_t i = 0; i < dp->n_meta; i++)
		if (strcmp(dp->meta[i].name, zone) == 0)
			return (ssize_t)i;
	return -1;
}

/* Swap in new_table, wait until no reader can hold the old one, free it
 * and the image it replaced. */
static void publish(struct dp *dp, struct ditto_zone_table *new_table,
		    struct ditto_image *old_img)
{
	struct ditto_zone_table *old = dp->zones;

	rcu_assign_pointer(dp->zones, new_table);
	synchronize_rcu();
	ditto_zone_table_free(old);
	ditto_image_free(old_img);
}

/* The marker beside an image that says its zone expired. */
static void expired_marker(const char *image, char *out, size_t cap)
{
	snprintf(out, cap, "%s.expired", image);
}

/* Put img (validated) in the table and the metadata. */
static int install(struct dp *dp, struct ditto_image *img, const char *zone,
		   const char *path, char *err, size_t errlen)
{
	struct ditto_image *old_img = NULL;
	ssize_t i = meta_find(dp, zone);

	if (i < 0) {
		struct dp_zone_meta *m = realloc(dp->meta, (dp->n_meta + 1) *
							   sizeof(*m));
		if (!m) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		dp->meta = m;
		i = (ssize_t)dp->n_meta;
		memset(&m[i], 0, sizeof(m[i]));
	}
	struct ditto_zone_table *nt = ditto_zone_table_with(dp->zones, img,
							    &old_img);
	if (!nt) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if ((size_t)i == dp->n_meta)
		dp->n_meta++;
	struct dp_zone_meta *m = &dp->meta[i];

	snprintf(m->name, sizeof(m->name), "%s", zone);
	snprintf(m->path, sizeof(m->path), "%s", path);
	m->serial = img->hdr->serial;
	m->image_flags = img->hdr->flags;
	m->size = img->size;
	m->loaded = time(NULL);
	m->expired = img->expired;
	publish(dp, nt, old_img);
	return 0;
}

static void apex_text(const struct ditto_image *img, char *buf, size_t cap)
{
	dns_name_to_text(img->hdr->apex, buf, cap);
	for (char *p = buf; *p; p++)
		*p = (char)tolower((unsigned char)*p);
}

/* The image the zone table holds for zone (normalized text), or NULL. */
static struct ditto_image *table_image(const struct dp *dp, const char *zone)
{
	for (size_t k = 0; k < ditto_zone_table_count(dp->zones); k++) {
		char t[1100];
		struct ditto_image *c = ditto_zone_table_at(dp->zones, k);

		apex_text(c, t, sizeof(t));
		if (strcmp(t, zone) == 0)
			return c;
	}
	return NULL;
}

int dp_zone_adopt(struct dp *dp, const char *zone, const char *path,
		  struct dp_zone_meta *adopted, char *err, size_t errlen)
{
	struct ditto_image *img = NULL;
	char why[512], apex[1100], want[300], dest[DP_PATH_MAX];
	int rc;

	rc = ditto_image_load_file(path, &img, why, sizeof(why));
	if (rc < 0) {
		snprintf(err, errlen, "image refused: %s", why);
		goto fail;
	}
	apex_text(img, apex, sizeof(apex));
	if (zone && *zone) {
		if (dp_zone_name_norm(zone, want, sizeof(want)) < 0) {
			snprintf(err, errlen, "'%s' is not a zone name", zone);
			goto fail;
		}
		if (strcmp(want, apex) != 0) {
			snprintf(err, errlen, "image refused: %s holds zone "
				 "%s, not %s", path, apex, want);
			goto fail;
		}
	}
	if (image_path(dp, apex, dest, sizeof(dest)) < 0) {
		snprintf(err, errlen, "zone %s has no usable file name", apex);
		goto fail;
	}
	/* The copy is made before the swap: a restart serves what was
	 * adopted last. When path is the copy already, it stays. */
	char rp_src[PATH_MAX], rp_dst[PATH_MAX];
	bool same = realpath(path, rp_src) && realpath(dest, rp_dst) &&
		    strcmp(rp_src, rp_dst) == 0;

	if (!same && persist(dp, img, path, dest, err, errlen) < 0)
		goto fail;
	/* A new image of the zone ends its expiry. */
	char marker[DP_PATH_MAX + 16];

	expired_marker(dest, marker, sizeof(marker));
	if (unlink(marker) < 0 && errno != ENOENT)
		dp_log("zone %s: cannot remove %s: %s", apex, marker,
		       strerror(errno));
	if (install(dp, img, apex, dest, err, errlen) < 0)
		goto fail;
	dp->zone_loads++;
	if (adopted)
		*adopted = dp->meta[meta_find(dp, apex)];
	dp_log("zone %s serial %u adopted from %s (%zu bytes)", apex,
	       img->hdr->serial, path, img->size);
	return 0;
fail:
	ditto_image_free(img);
	dp->zone_load_failures++;
	dp_log("zone %s: %s", zone && *zone ? zone : path, err);
	return -1;
}

int dp_zone_remove(struct dp *dp, const char *zone, char *err, size_t errlen)
{
	char want[300];
	ssize_t i;
	struct ditto_image *old_img = NULL;

	if (dp_zone_name_norm(zone, want, sizeof(want)) < 0) {
		snprintf(err, errlen, "'%s' is not a zone name", zone);
		return -1;
	}
	i = meta_find(dp, want);
	if (i < 0) {
		snprintf(err, errlen, "zone %s is not loaded", want);
		return -1;
	}
	/* The apex in wire form from the image itself. */
	const struct ditto_image *img = table_image(dp, want);

	if (!img) {
		snprintf(err, errlen, "zone %s is not loaded", want);
		return -1;
	}
	struct ditto_zone_table *nt = ditto_zone_table_without(
		dp->zones, img->hdr->apex, img->hdr->apex_len, &old_img);

	if (!nt) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	/* Forget the copy first: a crash after this must not bring the zone
	 * back on restart. */
	char marker[DP_PATH_MAX + 16];

	expired_marker(dp->meta[i].path, marker, sizeof(marker));
	(void)unlink(marker);
	if (unlink(dp->meta[i].path) < 0 && errno != ENOENT)
		dp_log("zone %s: cannot remove %s: %s", want,
		       dp->meta[i].path, strerror(errno));
	dp->meta[i] = dp->meta[dp->n_meta - 1];
	dp->n_meta--;
	publish(dp, nt, old_img);
	dp->zone_removes++;
	dp_log("zone %s removed", want);
	return 0;
}

int dp_zone_expire(struct dp *dp, const char *zone, char *err,
		   size_t errlen)
{
	char want[300], marker[DP_PATH_MAX + 16];
	ssize_t i;
	int fd;

	if (dp_zone_name_norm(zone, want, sizeof(want)) < 0) {
		snprintf(err, errlen, "'%s' is not a zone name", zone);
		return -1;
	}
	i = meta_find(dp, want);
	if (i < 0) {
		snprintf(err, errlen, "zone %s is not loaded", want);
		return -1;
	}
	/* The marker first: a restart after this still answers SERVFAIL. */
	expired_marker(dp->meta[i].path, marker, sizeof(marker));
	fd = open(marker, O_WRONLY | O_CREAT | O_CLOEXEC, 0640);
	if (fd < 0 || fsync(fd) < 0) {
		snprintf(err, errlen, "cannot write %s: %s", marker,
			 strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	struct ditto_image *img = table_image(dp, want);

	if (img)
		__atomic_store_n(&img->expired, true, __ATOMIC_RELAXED);
	if (!dp->meta[i].expired)
		dp_log("zone %s serial %u expired: answered SERVFAIL until a "
		       "new image", want, dp->meta[i].serial);
	dp->meta[i].expired = true;
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int dp_zones_restore(struct dp *dp, char *err, size_t errlen)
{
	char dir[DP_PATH_MAX + 16];
	DIR *d;
	struct dirent *e;
	char **names = NULL;
	size_t n = 0;
	unsigned ok = 0, bad = 0;

	image_dir(dp, dir, sizeof(dir));
	if (mkdir_p(dir) < 0) {
		snprintf(err, errlen, "cannot create %s: %s", dir,
			 strerror(errno));
		return -1;
	}
	d = opendir(dir);
	if (!d) {
		snprintf(err, errlen, "cannot read %s: %s", dir,
			 strerror(errno));
		return -1;
	}
	while ((e = readdir(d))) {
		size_t l = strlen(e->d_name);

		if (l < 5 || strcmp(e->d_name + l - 4, ".img") != 0)
			continue;
		char **nn = realloc(names, (n + 1) * sizeof(*nn));

		if (!nn || !(nn[n] = strdup(e->d_name))) {
			free(nn ? nn : names);
			closedir(d);
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		names = nn;
		n++;
	}
	closedir(d);
	if (n)
		qsort(names, n, sizeof(*names), cmp_str);
	for (size_t i = 0; i < n; i++) {
		char path[DP_PATH_MAX + 300], why[512], apex[1100];
		char dest[DP_PATH_MAX];
		struct ditto_image *img = NULL;

		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		if (ditto_image_load_file(path, &img, why, sizeof(why)) < 0) {
			dp_log("state: %s refused: %s", path, why);
			bad++;
			continue;
		}
		apex_text(img, apex, sizeof(apex));
		if (image_path(dp, apex, dest, sizeof(dest)) < 0 ||
		    strcmp(dest, path) != 0 || meta_find(dp, apex) >= 0) {
			dp_log("state: %s holds zone %s, not the zone its "
			       "name says; skipped", path, apex);
			ditto_image_free(img);
			bad++;
			continue;
		}
		char marker[DP_PATH_MAX + 316];

		expired_marker(path, marker, sizeof(marker));
		img->expired = access(marker, F_OK) == 0;
		if (install(dp, img, apex, path, why, sizeof(why)) < 0) {
			dp_log("state: %s: %s", path, why);
			ditto_image_free(img);
			bad++;
			continue;
		}
		dp_log("zone %s serial %u restored from %s%s", apex,
		       img->hdr->serial, path,
		       img->expired ? " (expired: answered SERVFAIL)" : "");
		ok++;
	}
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	dp_log("state: %u zones restored from %s, %u refused", ok, dir, bad);
	return 0;
}

void dp_zones_free(struct dp *dp)
{
	struct ditto_zone_table *t = dp->zones;

	if (t) {
		for (size_t i = 0; i < ditto_zone_table_count(t); i++)
			ditto_image_free(ditto_zone_table_at(t, i));
		ditto_zone_table_free(t);
	}
	dp->zones = NULL;
	free(dp->meta);
	dp->meta = NULL;
	dp->n_meta = 0;
}
