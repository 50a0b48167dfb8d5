// SPDX-License-Identifier: GPL-2.0
/*
 * heaplab-profile/1: load, validate and schedule (profile.h).
 *
 * The checks walk the document depth first, an object's own errors (its
 * type, a missing field, an unknown one) before its fields', the fields in
 * name order: the order in which profile.py sorts jsonschema's errors, so
 * that both report the same first error. Then the rules a schema cannot
 * say (duplicate names, the background's sums, memory, the timeline).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <json-c/json.h>

#include "profile.h"

/* A recorded timeline can be long; past this the file is not a profile. */
#define MAX_FILE_BYTES (256u << 20)
/* profile.py's value(): the JSON of a value, cut to 40 characters. */
#define VALUE_MAX 40
#define PATH_MAX_LEN 256
#define GiB (1024.0 * 1024 * 1024)
/* page_cache + anon beyond this leaves too little memory to run the replay in. */
#define MAX_BACKGROUND 0.9

const char *heap_kind_name(enum heap_kind k)
{
	return k == HEAP_CMA ? "cma" : "system";
}

struct ctx {
	const char *file;
	char *err;
	size_t errlen;
};

/* --- values as Python's json.dumps() writes them ------------------------- */

struct out {
	char buf[VALUE_MAX + 8];
	size_t len;		/* what the whole value would take, even past buf */
};

static void put(struct out *o, const char *s, size_t n)
{
	size_t room = sizeof(o->buf) - 1;

	if (o->len < room)
		memcpy(o->buf + o->len, s, o->len + n > room ? room - o->len : n);
	o->len += n;
	o->buf[o->len < room ? o->len : room] = '\0';
}

static void puts_(struct out *o, const char *s)
{
	put(o, s, strlen(s));
}

/* One code point from UTF-8 (json-c validated it): its value, *s moved on. */
static unsigned int utf8_next(const unsigned char **s)
{
	const unsigned char *p = *s;
	unsigned int c = *p++;
	int more = c >= 0xf0 ? 3 : c >= 0xe0 ? 2 : c >= 0xc0 ? 1 : 0;

	if (more)
		c &= 0x3f >> more;
	while (more-- && (*p & 0xc0) == 0x80)
		c = (c << 6) | (*p++ & 0x3f);
	*s = p;
	return c;
}

/* ensure_ascii: control and non-ASCII characters as \uXXXX (UTF-16). */
static void put_string(struct out *o, const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *)str, *end = s + len;
	char esc[16];

	put(o, "\"", 1);
	while (s < end && o->len <= VALUE_MAX) {
		unsigned int c = *s;

		if (c == '"' || c == '\\') {
			esc[0] = '\\';
			esc[1] = (char)c;
			put(o, esc, 2);
			s++;
			continue;
		}
		if (c >= 0x20 && c < 0x7f) {
			put(o, (const char *)s++, 1);
			continue;
		}
		if (c < 0x80) {
			static const char named[] = "\bb\ff\nn\rr\tt";
			const char *e = c ? memchr(named, (int)c, sizeof(named) - 1) : NULL;

			if (e && (e - named) % 2 == 0)
				snprintf(esc, sizeof(esc), "\\%c", e[1]);
			else
				snprintf(esc, sizeof(esc), "\\u%04x", c);
			puts_(o, esc);
			s++;
			continue;
		}
		c = utf8_next(&s);
		if (c >= 0x10000)
			snprintf(esc, sizeof(esc), "\\u%04x\\u%04x", 0xd800 + ((c - 0x10000) >> 10),
				 0xdc00 + ((c - 0x10000) & 0x3ff));
		else
			snprintf(esc, sizeof(esc), "\\u%04x", c);
		puts_(o, esc);
	}
	put(o, "\"", 1);
}

/* repr(float): the shortest digits that read back the same, fixed between 1e-4 and 1e16. */
static void put_double(struct out *o, double v)
{
	char buf[64];
	int p, e;

	if (!isfinite(v)) {
		puts_(o, isnan(v) ? "NaN" : v > 0 ? "Infinity" : "-Infinity");
		return;
	}
	for (p = 1; p < 17; p++) {
		snprintf(buf, sizeof(buf), "%.*e", p - 1, v);
		if (strtod(buf, NULL) == v)
			break;
	}
	snprintf(buf, sizeof(buf), "%.*e", p - 1, v);
	e = atoi(strchr(buf, 'e') + 1);
	if (e >= -4 && e < 16) {
		snprintf(buf, sizeof(buf), "%.*f", p - 1 - e > 0 ? p - 1 - e : 0, v);
		if (!strchr(buf, '.'))
			strcat(buf, ".0");
	}
	puts_(o, buf);
}

static void put_value(struct out *o, struct json_object *v)
{
	switch (json_object_get_type(v)) {
	case json_type_null:
		puts_(o, "null");
		break;
	case json_type_boolean:
		puts_(o, json_object_get_boolean(v) ? "true" : "false");
		break;
	case json_type_double:
		put_double(o, json_object_get_double(v));
		break;
	case json_type_int:
		puts_(o, json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN));
		break;
	case json_type_string:
		put_string(o, json_object_get_string(v), (size_t)json_object_get_string_len(v));
		break;
	case json_type_array: {
		size_t i, n = json_object_array_length(v);

		puts_(o, "[");
		for (i = 0; i < n && o->len <= VALUE_MAX; i++) {
			if (i)
				puts_(o, ", ");
			put_value(o, json_object_array_get_idx(v, i));
		}
		puts_(o, "]");
		break;
	}
	case json_type_object: {
		bool first = true;

		puts_(o, "{");
		json_object_object_foreach(v, key, val) {
			if (o->len > VALUE_MAX)
				break;
			if (!first)
				puts_(o, ", ");
			first = false;
			put_string(o, key, strlen(key));
			puts_(o, ": ");
			put_value(o, val);
		}
		puts_(o, "}");
		break;
	}
	}
}

static const char *render(struct out *o, struct json_object *v)
{
	o->len = 0;
	o->buf[0] = '\0';
	put_value(o, v);
	if (o->len > VALUE_MAX)
		strcpy(o->buf + VALUE_MAX - 3, "...");
	return o->buf;
}

/* --- errors -------------------------------------------------------------- */

static bool fail(struct ctx *c, const char *field, const char *value, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* profile FILE: FIELD: VALUE: reason. Returns false, for `return fail(...)`. */
static bool fail(struct ctx *c, const char *field, const char *value, const char *fmt, ...)
{
	char reason[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	snprintf(c->err, c->errlen, "profile %s: %s: %s: %s", c->file,
		 *field ? field : "(top)", value, reason);
	return false;
}

static bool fail_at(struct ctx *c, const char *field, struct json_object *v, const char *reason)
{
	struct out o;

	return fail(c, field, render(&o, v), "%s", reason);
}

/* snprintf() into a field path, cut short if it must be (a long unknown key) */
static const char *path_fmt(char *buf, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static const char *path_fmt(char *buf, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, PATH_MAX_LEN, fmt, ap);
	va_end(ap);
	return buf;
}

/* @base.@key, or @base[@i] when @key is NULL */
static const char *sub(char *buf, const char *base, const char *key, int i)
{
	if (key)
		return path_fmt(buf, "%s%s%s", base, *base ? "." : "", key);
	return path_fmt(buf, "%s[%d]", base, i);
}

/* --- the schema's rules ------------------------------------------------ */

enum want { W_INT, W_NUM, W_STR, W_OBJ, W_ARR };

static bool is(struct json_object *v, enum want w)
{
	enum json_type t = json_object_get_type(v);

	switch (w) {
	case W_INT: return t == json_type_int;
	case W_NUM: return t == json_type_int || t == json_type_double;
	case W_STR: return t == json_type_string;
	case W_OBJ: return t == json_type_object;
	case W_ARR: return t == json_type_array;
	}
	return false;
}

static bool type(struct ctx *c, const char *field, struct json_object *v, enum want w)
{
	static const char *const names[] = { "an integer", "a number", "a string", "an object",
					     "an array" };
	char reason[32];

	if (is(v, w))
		return true;
	snprintf(reason, sizeof(reason), "must be %s", names[w]);
	return fail_at(c, field, v, reason);
}

static double num(struct json_object *v)
{
	return json_object_get_type(v) == json_type_int ? (double)json_object_get_int64(v)
							 : json_object_get_double(v);
}

/* An integer >= @min (@strict: > @min). */
static bool integer(struct ctx *c, const char *field, struct json_object *v, int64_t min,
		    bool strict)
{
	int64_t x;
	char reason[48];

	if (!type(c, field, v, W_INT))
		return false;
	x = json_object_get_int64(v);
	if (strict ? x > min : x >= min)
		return true;
	snprintf(reason, sizeof(reason), "must be %s %lld", strict ? ">" : ">=", (long long)min);
	return fail_at(c, field, v, reason);
}

/* A number >= 0: json-c takes NaN and Infinity, which no schedule can use. */
static bool nonneg(struct ctx *c, const char *field, struct json_object *v, const char *reason)
{
	if (!type(c, field, v, W_NUM))
		return false;
	if (!isfinite(num(v)))
		return fail_at(c, field, v, "must be a finite number");
	return num(v) >= 0 ? true : fail_at(c, field, v, reason);
}

/* @first then [@rest]*, each from its set: the schema's name patterns. */
static bool pattern(struct ctx *c, const char *field, struct json_object *v, const char *rest)
{
	const char *s;
	char reason[64];
	size_t i;

	if (!type(c, field, v, W_STR))
		return false;
	s = json_object_get_string(v);
	for (i = 0; s[i]; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') ||
		      (i && strchr(rest, s[i]))))
			break;
	if (i && !s[i] && (size_t)json_object_get_string_len(v) == i)
		return true;
	snprintf(reason, sizeof(reason), "must match [a-z0-9][a-z0-9%s]*", rest);
	return fail_at(c, field, v, reason);
}

/*
 * An object's own rules: its type, the @required fields (in the schema's
 * order: jsonschema names the first missing), no field outside @known
 * (sorted; the first unknown by name, as profile.py picks it).
 */
static bool object(struct ctx *c, const char *field, struct json_object *v,
		   const char *const *required, const char *const *known)
{
	const char *unknown = NULL;
	struct json_object *x;
	char path[PATH_MAX_LEN];
	const char *const *k;

	if (!type(c, field, v, W_OBJ))
		return false;
	for (k = required; *k; k++)
		if (!json_object_object_get_ex(v, *k, NULL))
			return fail(c, sub(path, field, *k, 0), "(missing)", "required");
	json_object_object_foreach(v, key, val) {
		(void)val;
		for (k = known; *k && strcmp(*k, key); k++)
			;
		if (!*k && (!unknown || strcmp(key, unknown) < 0))
			unknown = key;
	}
	if (!unknown)
		return true;
	json_object_object_get_ex(v, unknown, &x);
	return fail_at(c, sub(path, field, unknown, 0), x, "unknown field");
}

/* Field @key of @o if present (JSON null included: json-c's NULL). */
static bool field(struct json_object *o, const char *key, struct json_object **v)
{
	return json_object_object_get_ex(o, key, v);
}

static bool check_class(struct ctx *c, const char *base, struct json_object *v)
{
	static const char *const required[] = { "name", "heap", "size", "count", "hold_ms",
						"rate_hz", NULL };
	static const char *const known[] = { "align", "count", "heap", "hold_ms", "name",
					     "rate_hz", "size", NULL };
	char path[PATH_MAX_LEN];
	struct json_object *x;

	if (!object(c, base, v, required, known))
		return false;
	if (field(v, "align", &x)) {
		double a = is(x, W_NUM) ? num(x) : 0;

		/* the schema's enum: 4096 .. 1G, compared as numbers (4096.0 too) */
		if (!(a >= 4096 && a <= 1073741824 && a == floor(a) &&
		      !((uint64_t)a & ((uint64_t)a - 1))))
			return fail_at(c, sub(path, base, "align", 0), x,
				       "must be a power of two >= 4096");
	}
	field(v, "count", &x);
	if (!integer(c, sub(path, base, "count", 0), x, 1, false))
		return false;
	field(v, "heap", &x);
	if (!is(x, W_STR) || (strcmp(json_object_get_string(x), "cma") &&
			      strcmp(json_object_get_string(x), "system")))
		return fail_at(c, sub(path, base, "heap", 0), x, "unknown heap kind (cma, system)");
	field(v, "hold_ms", &x);
	if (!integer(c, sub(path, base, "hold_ms", 0), x, 0, false))
		return false;
	field(v, "name", &x);
	if (!pattern(c, sub(path, base, "name", 0), x, "_-"))
		return false;
	field(v, "rate_hz", &x);
	if (!nonneg(c, sub(path, base, "rate_hz", 0), x, "must be >= 0"))
		return false;
	field(v, "size", &x);
	return integer(c, sub(path, base, "size", 0), x, 0, true);
}

static bool check_phase(struct ctx *c, const char *base, struct json_object *v)
{
	static const char *const required[] = { "name", "duration_ms", "classes", NULL };
	static const char *const known[] = { "classes", "duration_ms", "name", NULL };
	char path[PATH_MAX_LEN], item[PATH_MAX_LEN];
	struct json_object *x;
	size_t j;

	if (!object(c, base, v, required, known))
		return false;
	field(v, "classes", &x);
	if (!type(c, sub(path, base, "classes", 0), x, W_ARR))
		return false;
	for (j = 0; j < json_object_array_length(x); j++)
		if (!check_class(c, sub(item, path, NULL, (int)j), json_object_array_get_idx(x, j)))
			return false;
	field(v, "duration_ms", &x);
	if (!integer(c, sub(path, base, "duration_ms", 0), x, 0, true))
		return false;
	field(v, "name", &x);
	return pattern(c, sub(path, base, "name", 0), x, "_-");
}

static bool check_entry(struct ctx *c, const char *base, struct json_object *v)
{
	static const char *const required[] = { "at_us", "class", "hold_us", NULL };
	static const char *const known[] = { "at_us", "class", "hold_us", NULL };
	char path[PATH_MAX_LEN];
	struct json_object *x;

	if (!object(c, base, v, required, known))
		return false;
	field(v, "at_us", &x);
	if (!integer(c, sub(path, base, "at_us", 0), x, 0, false))
		return false;
	field(v, "class", &x);
	if (!type(c, sub(path, base, "class", 0), x, W_STR))
		return false;
	if (!json_object_get_string_len(x))
		return fail_at(c, path, x, "'' is too short");
	field(v, "hold_us", &x);
	return integer(c, sub(path, base, "hold_us", 0), x, 0, false);
}

static bool check_fraction(struct ctx *c, struct json_object *bg, const char *key)
{
	char path[PATH_MAX_LEN];
	struct json_object *x;

	if (!field(bg, key, &x))
		return true;
	sub(path, "background", key, 0);
	if (!nonneg(c, path, x, "must be within [0, 1]"))
		return false;
	return num(x) <= 1 ? true : fail_at(c, path, x, "must be within [0, 1]");
}

static bool check_schema(struct ctx *c, struct json_object *doc)
{
	static const char *const required[] = { "schema", "name", "description", "phases", NULL };
	static const char *const known[] = { "background", "description", "name", "phases",
					     "recording", "schema", "source", "timeline", NULL };
	static const char *const bg_known[] = { "anon", "page_cache", "pinned", NULL };
	static const char *const none[] = { NULL };
	char item[PATH_MAX_LEN];
	struct json_object *x;
	const char *s;
	size_t i, n;

	if (!type(c, "", doc, W_OBJ))
		return false;
	/* first, so that a document of another kind is named as such */
	if (!field(doc, "schema", &x))
		return fail(c, "schema", "(missing)", "required (" PROFILE_SCHEMA ")");
	if (!is(x, W_STR) || strcmp(json_object_get_string(x), PROFILE_SCHEMA))
		return fail_at(c, "schema", x, "want " PROFILE_SCHEMA);
	if (!object(c, "", doc, required, known))
		return false;
	if (field(doc, "background", &x)) {
		if (!object(c, "background", x, none, bg_known) ||
		    !check_fraction(c, x, "anon") || !check_fraction(c, x, "page_cache") ||
		    !check_fraction(c, x, "pinned"))
			return false;
	}
	field(doc, "description", &x);
	if (!type(c, "description", x, W_STR))
		return false;
	s = json_object_get_string(x);
	n = (size_t)json_object_get_string_len(x);
	if (!n || memchr(s, '\n', n))
		return fail_at(c, "description", x, "one line, not empty");
	field(doc, "name", &x);
	if (!pattern(c, "name", x, "-"))
		return false;
	field(doc, "phases", &x);
	if (!type(c, "phases", x, W_ARR))
		return false;
	if (!json_object_array_length(x))
		return fail_at(c, "phases", x, "at least one phase");
	for (i = 0; i < json_object_array_length(x); i++)
		if (!check_phase(c, sub(item, "phases", NULL, (int)i),
				 json_object_array_get_idx(x, i)))
			return false;
	if (field(doc, "recording", &x) && !type(c, "recording", x, W_OBJ))
		return false;
	if (field(doc, "source", &x)) {
		if (!type(c, "source", x, W_STR))
			return false;
		if (!json_object_get_string_len(x))
			return fail_at(c, "source", x, "not empty");
	}
	if (field(doc, "timeline", &x)) {
		if (!type(c, "timeline", x, W_ARR))
			return false;
		for (i = 0; i < json_object_array_length(x); i++)
			if (!check_entry(c, sub(item, "timeline", NULL, (int)i),
					 json_object_array_get_idx(x, i)))
				return false;
	}
	return true;
}

/* --- into struct profile, then the rules a schema cannot say --------------- */

static char *dup_str(struct json_object *o, const char *key)
{
	struct json_object *x;

	return field(o, key, &x) && x ? strdup(json_object_get_string(x)) : NULL;
}

static int64_t get_int(struct json_object *o, const char *key)
{
	struct json_object *x;

	return field(o, key, &x) ? json_object_get_int64(x) : 0;
}

static double get_num(struct json_object *o, const char *key)
{
	struct json_object *x;

	return field(o, key, &x) ? num(x) : 0;
}

/* A validated document into @p: 0, or -1 (out of memory). */
static int extract(struct profile *p, struct json_object *doc)
{
	struct json_object *phases, *bg, *tl, *x;
	int i, j, k = 0;

	p->name = dup_str(doc, "name");
	p->description = dup_str(doc, "description");
	p->source = dup_str(doc, "source");
	if (!p->name || !p->description || (field(doc, "source", &x) && !p->source))
		return -1;
	if (field(doc, "background", &bg)) {
		p->page_cache = get_num(bg, "page_cache");
		p->anon = get_num(bg, "anon");
		p->pinned = get_num(bg, "pinned");
	}
	field(doc, "phases", &phases);
	p->nphases = (int)json_object_array_length(phases);
	p->phases = calloc((size_t)p->nphases, sizeof(*p->phases));
	if (!p->phases)
		return -1;
	for (i = 0; i < p->nphases; i++) {
		field(json_object_array_get_idx(phases, i), "classes", &x);
		p->nclasses += (int)json_object_array_length(x);
	}
	p->classes = calloc((size_t)p->nclasses + 1, sizeof(*p->classes));
	if (!p->classes)
		return -1;
	for (i = 0; i < p->nphases; i++) {
		struct json_object *ph = json_object_array_get_idx(phases, i), *cls;
		struct profile_phase *f = &p->phases[i];

		f->name = dup_str(ph, "name");
		if (!f->name)
			return -1;
		f->duration_ms = get_int(ph, "duration_ms");
		field(ph, "classes", &cls);
		f->first = k;
		f->nclasses = (int)json_object_array_length(cls);
		for (j = 0; j < f->nclasses; j++, k++) {
			struct json_object *o = json_object_array_get_idx(cls, j);
			struct profile_class *c = &p->classes[k];

			c->name = dup_str(o, "name");
			if (!c->name)
				return -1;
			c->phase = i;
			field(o, "heap", &x);
			c->heap = strcmp(json_object_get_string(x), "cma") ? HEAP_SYSTEM : HEAP_CMA;
			field(o, "size", &x);
			c->size = json_object_get_uint64(x);
			c->align = (uint64_t)get_num(o, "align");
			c->count = get_int(o, "count");
			c->hold_ms = get_int(o, "hold_ms");
			c->rate_hz = get_num(o, "rate_hz");
		}
	}
	p->has_timeline = field(doc, "timeline", &tl);
	if (p->has_timeline) {
		p->ntimeline = (int)json_object_array_length(tl);
		p->timeline = calloc((size_t)p->ntimeline + 1, sizeof(*p->timeline));
		if (!p->timeline)
			return -1;
		for (i = 0; i < p->ntimeline; i++) {
			struct json_object *e = json_object_array_get_idx(tl, i);

			p->timeline[i].at_us = get_int(e, "at_us");
			p->timeline[i].hold_us = get_int(e, "hold_us");
			p->timeline[i].cls = -1;
		}
	}
	return 0;
}

static int find_class(const struct profile *p, const char *name, int before)
{
	int k;

	for (k = 0; k < before; k++)
		if (!strcmp(p->classes[k].name, name))
			return k;
	return -1;
}

/* Where class @k sits in the document: phases[i].classes[j]. */
static const char *class_path(char *buf, const struct profile *p, int k)
{
	const struct profile_class *c = &p->classes[k];

	snprintf(buf, PATH_MAX_LEN, "phases[%d].classes[%d]", c->phase,
		 k - p->phases[c->phase].first);
	return buf;
}

double profile_phase_bytes(const struct profile *p, int i)
{
	const struct profile_phase *f = &p->phases[i];
	double held = 0;
	int k;

	for (k = f->first; k < f->first + f->nclasses; k++)
		held += (double)p->classes[k].count * (double)p->classes[k].size;
	return held;
}

static bool check_rules(struct ctx *c, struct profile *p, struct json_object *doc,
			uint64_t mem_total)
{
	char path[PATH_MAX_LEN], other[PATH_MAX_LEN], value[PATH_MAX_LEN + 64];
	struct json_object *bg = NULL, *x, *tl;
	struct out o, a;
	int k, i;

	for (k = 0; k < p->nclasses; k++) {
		int prev = find_class(p, p->classes[k].name, k);
		struct json_object *name = json_object_new_string(p->classes[k].name);

		if (prev >= 0) {
			path_fmt(path, "%s.name", class_path(other, p, k));
			class_path(other, p, prev);
			fail(c, path, render(&o, name), "duplicate class name (also %s)", other);
			json_object_put(name);
			return false;
		}
		json_object_put(name);
	}
	field(doc, "background", &bg);
	if (p->page_cache + p->anon > MAX_BACKGROUND) {
		snprintf(value, sizeof(value), "page_cache + anon = %.2f", p->page_cache + p->anon);
		return fail(c, "background", value,
			    "more than %g of MemTotal (the rest must run the replay)", MAX_BACKGROUND);
	}
	if (p->pinned > p->anon) {
		field(bg, "pinned", &x);
		render(&o, x);
		if (field(bg, "anon", &x))
			render(&a, x);
		else
			strcpy(a.buf, "0");
		return fail(c, "background.pinned", o.buf,
			    "more than anon (%s): the pinned pages are part of the anonymous load",
			    a.buf);
	}
	for (i = 0; mem_total && i < p->nphases; i++) {
		const struct profile_phase *f = &p->phases[i];
		double held = profile_phase_bytes(p, i);
		size_t n;

		if (held <= (double)mem_total)
			continue;
		n = (size_t)snprintf(value, sizeof(value), "holds %.1f GiB at once (classes", held / GiB);
		for (k = f->first; k < f->first + f->nclasses && n < sizeof(value); k++)
			n += (size_t)snprintf(value + n, sizeof(value) - n, "%s %s",
					      k == f->first ? "" : ",", p->classes[k].name);
		if (n < sizeof(value))
			snprintf(value + n, sizeof(value) - n, ")");
		snprintf(path, sizeof(path), "phases[%d]", i);
		return fail(c, path, value, "more than MemTotal %.1f GiB", (double)mem_total / GiB);
	}
	if (!field(doc, "timeline", &tl))
		return true;
	for (i = 0; i < p->ntimeline; i++) {
		struct json_object *e = json_object_array_get_idx(tl, i);

		field(e, "class", &x);
		p->timeline[i].cls = find_class(p, json_object_get_string(x), p->nclasses);
		if (p->timeline[i].cls < 0) {
			snprintf(path, sizeof(path), "timeline[%d].class", i);
			return fail_at(c, path, x, "names no class");
		}
		if (i && p->timeline[i].at_us < p->timeline[i - 1].at_us) {
			field(e, "at_us", &x);
			snprintf(path, sizeof(path), "timeline[%d].at_us", i);
			return fail(c, path, render(&o, x), "out of order (timeline[%d].at_us is %lld)",
				    i - 1, (long long)p->timeline[i - 1].at_us);
		}
	}
	return true;
}

void profile_free(struct profile *p)
{
	int i;

	if (!p)
		return;
	for (i = 0; p->phases && i < p->nphases; i++)
		free(p->phases[i].name);
	for (i = 0; p->classes && i < p->nclasses; i++)
		free(p->classes[i].name);
	free(p->phases);
	free(p->classes);
	free(p->timeline);
	free(p->path);
	free(p->name);
	free(p->description);
	free(p->source);
	free(p);
}

/* The whole file, NUL-terminated, into *@buf: its length, or -1 with @err set. */
static long read_file(struct ctx *c, char **buf)
{
	struct stat st;
	size_t len = 0;
	ssize_t r;
	int fd = open(c->file, O_RDONLY | O_CLOEXEC);

	*buf = NULL;
	if (fd < 0 || fstat(fd, &st)) {
		snprintf(c->err, c->errlen, "profile %s: %s", c->file, strerror(errno));
		goto out;
	}
	if (S_ISDIR(st.st_mode) || st.st_size > MAX_FILE_BYTES) {
		snprintf(c->err, c->errlen, "profile %s: %s", c->file,
			 S_ISDIR(st.st_mode) ? strerror(EISDIR) : "larger than 256 MiB: not a profile");
		goto out;
	}
	*buf = malloc((size_t)st.st_size + 1);
	if (!*buf) {
		snprintf(c->err, c->errlen, "profile %s: %s", c->file, strerror(ENOMEM));
		goto out;
	}
	while (len < (size_t)st.st_size && (r = read(fd, *buf + len, (size_t)st.st_size - len)) > 0)
		len += (size_t)r;
	if (len < (size_t)st.st_size) {
		snprintf(c->err, c->errlen, "profile %s: %s", c->file,
			 errno ? strerror(errno) : "shorter than its size");
		free(*buf);
		*buf = NULL;
		goto out;
	}
	(*buf)[len] = '\0';
	close(fd);
	return (long)len;
out:
	if (fd >= 0)
		close(fd);
	return -1;
}

/* The JSON document in @buf: 0 with *@doc (NULL for JSON null), or -1. */
static int parse(struct ctx *c, const char *buf, long len, struct json_object **doc)
{
	struct json_tokener *tok = json_tokener_new();
	enum json_tokener_error e;
	size_t end;

	if (!tok) {
		snprintf(c->err, c->errlen, "profile %s: %s", c->file, strerror(ENOMEM));
		return -1;
	}
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	*doc = json_tokener_parse_ex(tok, buf, (int)len);
	e = json_tokener_get_error(tok);
	end = json_tokener_get_parse_end(tok);
	if (e == json_tokener_continue) {
		/* a number or literal at the very end: say the input ends here */
		*doc = json_tokener_parse_ex(tok, "", 1);
		e = json_tokener_get_error(tok);
		end = (size_t)len;
	}
	json_tokener_free(tok);
	if (e == json_tokener_success) {
		/* only white space may follow the document */
		while (end < (size_t)len && strchr(" \t\r\n", buf[end]))
			end++;
		if (end >= (size_t)len)
			return 0;
		json_object_put(*doc);
		snprintf(c->err, c->errlen, "profile %s: not JSON: extra data at offset %zu",
			 c->file, end);
		return -1;
	}
	snprintf(c->err, c->errlen, "profile %s: not JSON: %s at offset %zu", c->file,
		 json_tokener_error_desc(e), end);
	return -1;
}

struct profile *profile_load(const char *path, uint64_t mem_total, char *err, size_t errlen)
{
	struct ctx c = { .file = path, .err = err, .errlen = errlen };
	struct json_object *doc = NULL;
	struct profile *p = NULL;
	char *buf;
	long len;

	len = read_file(&c, &buf);
	if (len < 0)
		return NULL;
	if (parse(&c, buf, len, &doc)) {
		free(buf);
		return NULL;
	}
	free(buf);
	if (!check_schema(&c, doc))
		goto bad;
	p = calloc(1, sizeof(*p));
	if (!p || !(p->path = strdup(path)) || extract(p, doc)) {
		snprintf(err, errlen, "profile %s: %s", path, strerror(ENOMEM));
		goto bad;
	}
	if (!check_rules(&c, p, doc, mem_total))
		goto bad;
	json_object_put(doc);
	return p;
bad:
	profile_free(p);
	json_object_put(doc);
	return NULL;
}

/* --- the schedule ---------------------------------------------------------- */

struct gen {
	double at_ms;		/* unscaled: the order never depends on --time-scale */
	int rank;		/* at one time: releases, then allocations, then */
	size_t seq;		/* releases of what was allocated at that time */
	enum sched_op op;
	int cls;
	uint32_t slot;
};

struct builder {
	struct gen *g;
	size_t n, cap;
	uint32_t slots;
};

static int add(struct builder *b, double at_ms, enum sched_op op, int cls, uint32_t slot,
	       double alloc_ms)
{
	if (b->n == b->cap) {
		size_t cap = b->cap ? 2 * b->cap : 256;
		struct gen *g = realloc(b->g, cap * sizeof(*g));

		if (!g)
			return -1;
		b->g = g;
		b->cap = cap;
	}
	b->g[b->n] = (struct gen){ .at_ms = at_ms, .op = op, .cls = cls, .slot = slot,
				   .seq = b->n };
	/*
	 * What ends at the time something else starts is released first (a
	 * phase's end before the next phase's burst, a ring's oldest before
	 * its next); a hold of 0 us is released right after its allocation.
	 */
	b->g[b->n].rank = op == SCHED_ALLOC ? 1 : at_ms > alloc_ms ? 0 : 2;
	b->n++;
	return 0;
}

/* One allocation held from @at to @rel (ms). */
static int add_alloc(struct builder *b, int cls, double at, double rel)
{
	uint32_t slot = b->slots++;

	return add(b, at, SCHED_ALLOC, cls, slot, at) || add(b, rel, SCHED_RELEASE, cls, slot, at);
}

static int cmp_gen(const void *x, const void *y)
{
	const struct gen *a = x, *b = y;

	if (a->at_ms != b->at_ms)
		return a->at_ms < b->at_ms ? -1 : 1;
	if (a->rank != b->rank)
		return a->rank - b->rank;
	return a->seq < b->seq ? -1 : a->seq > b->seq;
}

/* N = max(1, floor(duration_ms * rate_hz / 1000)), as profile.py's planned_allocs(). */
static double rate_allocs(const struct profile *p, const struct profile_class *c)
{
	double n = floor((double)p->phases[c->phase].duration_ms * c->rate_hz / 1000.0);

	return n < 1 ? 1 : n;
}

/*
 * A class with a rate: allocation k at k * 1000 / rate_hz ms, each held
 * hold_ms (0: to the phase's end), or less: with count already held when
 * the next is due, the oldest is released then (a ring of count buffers).
 * A slot whose allocation failed takes its place in the ring all the same.
 */
static int add_ring(struct builder *b, const struct profile_class *c, int cls, double start,
		    double end, uint32_t n)
{
	double *rel = malloc(n * sizeof(*rel)), *at = malloc(n * sizeof(*at));
	uint32_t k, oldest = 0, first = b->slots;
	int ret = -1;

	if (!rel || !at)
		goto out;
	for (k = 0; k < n; k++) {
		at[k] = start + (double)k * 1000.0 / c->rate_hz;
		/* held now: what is not released by this time (ties release first) */
		while (oldest < k && rel[oldest] <= at[k])
			oldest++;
		if (k - oldest >= (uint64_t)c->count)
			rel[oldest++] = at[k];
		rel[k] = c->hold_ms && at[k] + (double)c->hold_ms < end ? at[k] + (double)c->hold_ms
									 : end;
	}
	for (k = 0; k < n; k++) {
		if (add(b, at[k], SCHED_ALLOC, cls, first + k, at[k]) ||
		    add(b, rel[k], SCHED_RELEASE, cls, first + k, at[k]))
			goto out;
	}
	b->slots += n;
	ret = 0;
out:
	free(rel);
	free(at);
	return ret;
}

int profile_schedule(const struct profile *p, double time_scale, struct schedule *s,
		     char *err, size_t errlen)
{
	struct builder b = { 0 };
	double start = 0, end_ms, total = 0, worst = 0;
	char where[PATH_MAX_LEN] = "timeline";
	int i, k;
	size_t e;

	memset(s, 0, sizeof(*s));
	/* How many first: a rate of 1e9 Hz must be an error, not an exhausted memory. */
	if (p->has_timeline) {
		total = p->ntimeline;
	} else {
		for (k = 0; k < p->nclasses; k++) {
			const struct profile_class *c = &p->classes[k];
			double n = c->rate_hz > 0 ? rate_allocs(p, c) : (double)c->count;

			total += n;
			if (n > worst) {
				worst = n;
				class_path(where, p, k);
			}
		}
	}
	if (total > PROFILE_MAX_ALLOCS) {
		snprintf(err, errlen, "profile %s: %s: %.*g allocations in all: more than a replay "
			 "plays (%d)", p->path, where, total < 1e15 ? 15 : 3, total, PROFILE_MAX_ALLOCS);
		return -1;
	}
	for (i = 0; i < p->nphases; i++)
		start += (double)p->phases[i].duration_ms;
	end_ms = start;
	for (i = 0; p->has_timeline && i < p->ntimeline; i++) {
		double rel = ((double)p->timeline[i].at_us + (double)p->timeline[i].hold_us) / 1000;

		if (rel > end_ms)
			end_ms = rel;
	}
	/* a replay waits for its times: a year is a typo, and past 2^63 ns a bug */
	if (end_ms * time_scale > 366.0 * 24 * 3600 * 1000) {
		snprintf(err, errlen, "profile %s: the replay would last %.0f days (--time-scale "
			 "%g): more than a year", p->path, end_ms * time_scale / 86400000,
			 time_scale);
		return -1;
	}
	if (p->has_timeline) {
		for (i = 0; i < p->ntimeline; i++) {
			const struct profile_entry *t = &p->timeline[i];
			double at = (double)t->at_us / 1000;

			if (add_alloc(&b, t->cls, at, at + (double)t->hold_us / 1000))
				goto nomem;
		}
	} else {
		for (start = 0, i = 0; i < p->nphases; i++) {
			const struct profile_phase *f = &p->phases[i];
			double end = start + (double)f->duration_ms;

			for (k = f->first; k < f->first + f->nclasses; k++) {
				const struct profile_class *c = &p->classes[k];
				double rel = c->hold_ms && start + (double)c->hold_ms < end
					     ? start + (double)c->hold_ms : end;
				int64_t j;

				if (c->rate_hz > 0) {
					if (add_ring(&b, c, k, start, end, (uint32_t)rate_allocs(p, c)))
						goto nomem;
					continue;
				}
				for (j = 0; j < c->count; j++)
					if (add_alloc(&b, k, start, rel))
						goto nomem;
			}
			start = end;
		}
	}
	qsort(b.g, b.n, sizeof(*b.g), cmp_gen);
	s->ev = calloc(b.n + 1, sizeof(*s->ev));
	if (!s->ev)
		goto nomem;
	for (e = 0; e < b.n; e++)
		s->ev[e] = (struct sched_event){
			.at_ns = (uint64_t)llround(b.g[e].at_ms * 1e6 * time_scale),
			.op = b.g[e].op, .cls = b.g[e].cls, .slot = b.g[e].slot };
	s->nev = b.n;
	s->nslots = b.slots;
	s->end_ns = (uint64_t)llround(end_ms * 1e6 * time_scale);
	free(b.g);
	return 0;
nomem:
	free(b.g);
	snprintf(err, errlen, "profile %s: %s", p->path, strerror(ENOMEM));
	return -1;
}

void schedule_free(struct schedule *s)
{
	free(s->ev);
	memset(s, 0, sizeof(*s));
}
