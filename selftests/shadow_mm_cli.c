// SPDX-License-Identifier: GPL-2.0
/*
 * shadow_mm_cli: drive shadow address spaces from a script or a prompt.
 *
 * usage: shadow_mm_cli [-x] [-n] [-b] [-r] [SCRIPT | -]
 *
 * A script holds one command per line ("help" lists them, the README
 * describes them); address spaces are named by labels and results can be
 * kept in $variables. The whole script is parsed before anything runs: a
 * malformed line is reported as SCRIPT:LINE and the exit status is 2 (-n
 * stops there). The commands then run in order; the first one that fails
 * when it was not expected to stops the script with status 1.
 *
 * The output is deterministic, so that runs can be compared with golden
 * files: page ids and the ids of shared anonymous objects are replaced by
 * aliases (p1, p2... and 1, 2...) in order of first appearance.
 *
 * With -b, runs of consecutive mmap, munmap, mprotect, madvise and touch
 * lines on one address space go to the module as one SHADOW_MM_BATCH
 * (a line using a $variable set within the run starts a new one); the
 * output is the same as without.
 *
 * With -r (replay), every line runs whatever the lines before it did, and
 * each call prints one result line, "ok", "ok ADDR" or "err ENAME", so that
 * a recorded sequence of calls can be replayed and diffed with what a real
 * process saw. import builds an address space like a real process's from
 * its /proc/PID/maps and /proc/PID/stat, or from saved copies of them.
 */
#include <ctype.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <time.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "shadow_mm_lib.h"
#include "shadow_mm_tools.h"

#define MAX_TOKENS	24		/* words on one line */
#define MAX_TERMS	8		/* terms of one address expression */
#define MAX_IO		(1024UL * 1024)	/* bytes one read or write moves */
#define MAX_WALK	(1024UL * 1024)	/* the kernel's limit on a walk */
#define MAPS_NAME_COLUMN 73		/* 25 + 6 * sizeof(void *) */
#define EXIT_FAILED	1
#define EXIT_SYNTAX	2
/* A run error that is no errno: reported where it happens. */
#define RUN_FATAL	(-100000)

/* One word of a line, unescaped when it was a quoted string. */
struct token {
	const char *s;
	size_t len;
	bool quoted;
};

/* $name or a number, added or subtracted. */
struct term {
	int var;			/* index in cli.vars, or -1 */
	bool neg;
	__u64 val;
};

/* An address or a length: a sum of terms, evaluated when the line runs. */
struct expr {
	int nr;
	struct term t[MAX_TERMS];
};

struct label {
	char *name;
	bool declared;			/* as the parser sees it */
	int fd;				/* -1 when its create or fork failed */
};

struct var {
	char *name;
	bool set;
	__u64 val;
};

/* Ids of the kernel's (page ids, shared objects) and their aliases. */
struct alias_map {
	__u64 *keys;
	unsigned int *vals;
	size_t cap, nr;
};

struct cmd;
struct parser;

struct cmd_type {
	const char *name;
	const char *usage;
	int (*parse)(struct parser *p, struct cmd *c);
	int (*run)(struct cmd *c);
	int ioctl_nr;			/* for the ENOTTY hint, or -1 */
	const char *ioctl_name;
	bool needs_dev;
	bool may_fail;			/* takes the "! ERRNO" prefix */
	bool query;			/* prints state: no "ok" under -r */
};

/* One parsed line. */
struct cmd {
	const struct cmd_type *type;
	int line;
	char *text;			/* what -x echoes */
	int expect;			/* errno the command must fail with */
	int mm, mm2;			/* labels */
	struct expr e[4];
	__u64 prot, flags;
	int mode;
	int var;			/* as=NAME, or -1 */
	char *data;			/* write's bytes, echo's text */
	size_t data_len;
	int fill;			/* write's fill=BYTE */
	char *src, *stat, *root;	/* import's SOURCE, stat=, root=; mmap's
					 * file=, root=
					 */
	char detail[64];		/* added to an error message */
	bool reported;			/* its failure was explained already */
	bool has_result;		/* -r prints "ok @result" */
	__u64 result;
};

struct parser {
	const char *cmd;		/* command name, for messages */
	struct token pos[MAX_TOKENS];	/* positional words */
	int npos;
	struct token opt[MAX_TOKENS];	/* key=value words */
	bool opt_used[MAX_TOKENS];
	int nopt;
};

static struct {
	const char *script;		/* name used in messages */
	int line;			/* line being parsed or run */
	bool trace;			/* -x */
	bool batch;			/* -b */
	bool replay;			/* -r */
	int replay_status;		/* -r: 1 once a line could not replay */
	int dev;
	__u64 ioctls;			/* SHADOW_MM_API's out_ioctls */
	struct label *labels;
	int nr_labels;
	struct var *vars;
	int nr_vars;
	struct alias_map pages, shmem, files;
	char root[PATH_MAX];		/* the last import's root=, or "" */
} cli = { .dev = -1 };

/* --- messages -------------------------------------------------------------- */

static void err(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fprintf(stderr, "%s:%d: ", cli.script, cli.line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	fflush(stderr);
}

static const char *errno_name(int e)
{
	const char *name = strerrorname_np(e);

	return name ? name : "E?";
}

/* ENOMEM -> 12; 0 when unknown. */
static int errno_from_name(const char *name)
{
	int e;

	for (e = 1; e < 4096; e++) {
		const char *n = strerrorname_np(e);

		if (n && !strcmp(n, name))
			return e;
	}
	return 0;
}

/* --- aliases --------------------------------------------------------------- */

static unsigned int alias_of(struct alias_map *m, __u64 key)
{
	size_t i;

	if (m->nr * 2 >= m->cap) {
		struct alias_map bigger = { .cap = m->cap ? m->cap * 2 : 64 };

		bigger.keys = calloc(bigger.cap, sizeof(*bigger.keys));
		bigger.vals = calloc(bigger.cap, sizeof(*bigger.vals));
		if (!bigger.keys || !bigger.vals) {
			perror("shadow_mm_cli");
			exit(EXIT_FAILED);
		}
		for (i = 0; i < m->cap; i++) {
			size_t j;

			if (!m->vals[i])
				continue;
			for (j = m->keys[i] % bigger.cap; bigger.vals[j];
			     j = (j + 1) % bigger.cap)
				;
			bigger.keys[j] = m->keys[i];
			bigger.vals[j] = m->vals[i];
		}
		bigger.nr = m->nr;
		free(m->keys);
		free(m->vals);
		*m = bigger;
	}
	for (i = key % m->cap; m->vals[i]; i = (i + 1) % m->cap)
		if (m->keys[i] == key)
			return m->vals[i];
	m->keys[i] = key;
	m->vals[i] = ++m->nr;
	return m->vals[i];
}

/* --- labels and variables -------------------------------------------------- */

static bool valid_name(const char *s, size_t len)
{
	size_t i;

	if (!len || !(isalpha((unsigned char)s[0]) || s[0] == '_'))
		return false;
	for (i = 1; i < len; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '_')
			return false;
	return true;
}

static int find_label(const char *s, size_t len)
{
	int i;

	for (i = 0; i < cli.nr_labels; i++)
		if (strlen(cli.labels[i].name) == len &&
		    !memcmp(cli.labels[i].name, s, len))
			return i;
	return -1;
}

static int find_var(const char *s, size_t len)
{
	int i;

	for (i = 0; i < cli.nr_vars; i++)
		if (strlen(cli.vars[i].name) == len &&
		    !memcmp(cli.vars[i].name, s, len))
			return i;
	return -1;
}

static void *grow(void *array, int nr, size_t size)
{
	array = realloc(array, (nr + 1) * size);
	if (!array) {
		perror("shadow_mm_cli");
		exit(EXIT_FAILED);
	}
	return array;
}

static char *dup_token(const struct token *t)
{
	char *s = malloc(t->len + 1);

	if (!s) {
		perror("shadow_mm_cli");
		exit(EXIT_FAILED);
	}
	memcpy(s, t->s, t->len);
	s[t->len] = '\0';
	return s;
}

/* --- parsing: words -------------------------------------------------------- */

/* The escapes of strings, in scripts and in read's output. */
static const char esc_names[] = "ntr0\\\"";
static const char esc_chars[] = { '\n', '\t', '\r', '\0', '\\', '"' };

static int escape(int c)
{
	const char *e = c ? strchr(esc_names, c) : NULL;

	return e ? esc_chars[e - esc_names] : -1;
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/*
 * Split @line into words: bare words end at white space; a word that starts
 * with a double quote is a string, with C's escapes for newline, tab,
 * return, NUL, backslash and quote, and \xHH; a # that starts a word starts
 * a comment. Words are written unescaped into @buf, which is as
 * long as @line. @start and @end delimit what -x echoes.
 */
static int tokenize(const char *line, char *buf, struct token *tok,
		    size_t *start, size_t *end)
{
	const char *s = line;
	int n = 0;

	*start = *end = 0;
	for (;;) {
		while (*s == ' ' || *s == '\t')
			s++;
		if (!*s || *s == '#')
			return n;
		if (n == MAX_TOKENS) {
			err("too many words on the line (at most %d)",
			    MAX_TOKENS);
			return -1;
		}
		if (!n)
			*start = s - line;
		tok[n].s = buf;
		tok[n].quoted = *s == '"';
		if (tok[n].quoted) {
			for (s++; *s != '"'; s++) {
				int c = (unsigned char)*s;

				if (!c) {
					err("unterminated string");
					return -1;
				}
				if (c == '\\' && s[1] == 'x') {
					if (hexval(s[2]) < 0 ||
					    hexval(s[3]) < 0) {
						err("expected two hex digits after \\x");
						return -1;
					}
					c = hexval(s[2]) * 16 + hexval(s[3]);
					s += 3;
				} else if (c == '\\') {
					c = escape(s[1]);
					if (c < 0) {
						err("unknown escape '\\%c' in a string",
						    s[1] ? s[1] : ' ');
						return -1;
					}
					s++;
				}
				*buf++ = c;
			}
			s++;
			if (*s && *s != ' ' && *s != '\t') {
				err("expected white space after a string");
				return -1;
			}
		} else {
			while (*s && *s != ' ' && *s != '\t')
				*buf++ = *s++;
		}
		tok[n].len = buf - tok[n].s;
		*buf++ = '\0';
		*end = s - line;
		n++;
	}
}

static bool is_option(const struct token *t)
{
	const char *eq;

	if (t->quoted)
		return false;
	eq = memchr(t->s, '=', t->len);
	return eq && valid_name(t->s, eq - t->s);
}

/* The value of option @key=, or NULL when absent. */
static struct token *option(struct parser *p, const char *key,
			    struct token *val)
{
	size_t klen = strlen(key);
	int i;

	for (i = 0; i < p->nopt; i++) {
		struct token *t = &p->opt[i];

		if (t->len > klen && t->s[klen] == '=' &&
		    !memcmp(t->s, key, klen)) {
			p->opt_used[i] = true;
			val->s = t->s + klen + 1;
			val->len = t->len - klen - 1;
			val->quoted = false;
			return val;
		}
	}
	return NULL;
}

static int usage_error(struct parser *p, const struct cmd_type *type,
		       const char *what)
{
	err("%s: %s; usage: %s", p->cmd, what, type->usage);
	return -1;
}

static int nargs(struct parser *p, struct cmd *c, int min, int max)
{
	if (p->npos < min)
		return usage_error(p, c->type, "too few arguments");
	if (p->npos > max)
		return usage_error(p, c->type, "too many arguments");
	return 0;
}

/* --- parsing: values ------------------------------------------------------- */

/* 0x1f, 31, with an optional k, m, g or p (4 KiB pages) multiplier. */
static bool parse_number(const char *s, size_t len, __u64 *val)
{
	unsigned int base = 10;
	__u64 v = 0, mul = 1;
	size_t i = 0, digits = 0;

	if (len > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		i = 2;
	}
	for (; i < len; i++, digits++) {
		int d = hexval(s[i]);

		if (d < 0 || d >= (int)base)
			break;
		if (v > (~0ULL - d) / base)
			return false;
		v = v * base + d;
	}
	if (!digits)
		return false;
	if (i + 1 == len) {
		static const char suffixes[] = "kmgp";
		static const __u64 muls[] = { 1024, 1024 * 1024,
					      1024 * 1024 * 1024, PAGE };
		const char *suffix = strchr(suffixes, tolower(s[i]));

		if (!s[i] || !suffix)
			return false;
		mul = muls[suffix - suffixes];
		i++;
	}
	if (i != len || v > ~0ULL / mul)
		return false;
	*val = v * mul;
	return true;
}

/* An address or length: terms like 0x1000, 16p, $x joined by + and -. */
static int parse_expr(struct parser *p, const struct token *t,
		      const char *what, struct expr *e)
{
	const char *s = t->s, *end = t->s + t->len;

	e->nr = 0;
	if (t->quoted || !t->len)
		goto bad;
	while (s < end) {
		struct term *term = &e->t[e->nr];
		const char *w;
		bool neg = false;

		if (*s == '+' || *s == '-') {
			neg = *s == '-';
			s++;
		} else if (e->nr) {
			goto bad;
		}
		for (w = s; w < end && *w != '+' && *w != '-'; w++)
			;
		if (e->nr == MAX_TERMS) {
			err("%s: %s: at most %d terms", p->cmd, what,
			    MAX_TERMS);
			return -1;
		}
		term->neg = neg;
		term->var = -1;
		if (*s == '$') {
			if (!valid_name(s + 1, w - s - 1))
				goto bad;
			term->var = find_var(s + 1, w - s - 1);
			if (term->var < 0) {
				err("%s: unknown variable '%.*s' (set one with as=NAME first)",
				    p->cmd, (int)(w - s), s);
				return -1;
			}
		} else if (!parse_number(s, w - s, &term->val)) {
			goto bad;
		}
		e->nr++;
		s = w;
	}
	if (e->nr)
		return 0;
bad:
	err("%s: expected %s (like 0x10000, 64k, 16p or $var, joined by + or -), got '%.*s'",
	    p->cmd, what, (int)t->len, t->s);
	return -1;
}

static const struct name_val prot_extra_names[] = {
	{ "growsdown", PROT_GROWSDOWN },
	{ "growsup", PROT_GROWSUP },
	{ }
};

/* Flag names of struct shadow_vma_info.vm_flags, in bit order. */
static const struct name_val vm_flag_names[] = {
	{ "read", SHADOW_VM_READ },
	{ "write", SHADOW_VM_WRITE },
	{ "exec", SHADOW_VM_EXEC },
	{ "shared", SHADOW_VM_SHARED },
	{ "mayread", SHADOW_VM_MAYREAD },
	{ "maywrite", SHADOW_VM_MAYWRITE },
	{ "mayexec", SHADOW_VM_MAYEXEC },
	{ "mayshare", SHADOW_VM_MAYSHARE },
	{ "growsdown", SHADOW_VM_GROWSDOWN },
	{ "pfnmap", SHADOW_VM_PFNMAP },
	{ "locked", SHADOW_VM_LOCKED },
	{ "io", SHADOW_VM_IO },
	{ "dontcopy", SHADOW_VM_DONTCOPY },
	{ "dontexpand", SHADOW_VM_DONTEXPAND },
	{ "lockonfault", SHADOW_VM_LOCKONFAULT },
	{ "account", SHADOW_VM_ACCOUNT },
	{ "noreserve", SHADOW_VM_NORESERVE },
	{ "wipeonfork", SHADOW_VM_WIPEONFORK },
	{ "dontdump", SHADOW_VM_DONTDUMP },
	{ "softdirty", SHADOW_VM_SOFTDIRTY },
	{ }
};

static const struct name_val *lookup(const struct name_val *names,
				     const char *s, size_t len)
{
	for (; names->name; names++)
		if (strlen(names->name) == len && !memcmp(names->name, s, len))
			return names;
	return NULL;
}

static void list_names(const struct name_val *names, char *buf, size_t size)
{
	size_t n = 0;

	buf[0] = '\0';
	for (; names->name && n < size; names++)
		n += snprintf(buf + n, size - n, "%s%s", n ? ", " : "",
			      names->name);
}

/* A |-list of names from @names or numbers, ORed into @val. */
static int parse_flags(struct parser *p, const struct token *t,
		       const char *what, const struct name_val *names,
		       __u64 *val)
{
	const char *s = t->s, *end = t->s + t->len;
	char known[256];

	if (t->quoted || !t->len)
		goto bad;
	while (s <= end) {
		const char *w = memchr(s, '|', end - s);
		const struct name_val *nv;
		__u64 v;

		if (!w)
			w = end;
		nv = lookup(names, s, w - s);
		if (nv)
			*val |= nv->val;
		else if (parse_number(s, w - s, &v))
			*val |= v;
		else
			goto bad;
		s = w + 1;
	}
	return 0;
bad:
	list_names(names, known, sizeof(known));
	err("%s: expected %s (%s, or a number, joined by |), got '%.*s'",
	    p->cmd, what, known, (int)t->len, t->s);
	return -1;
}

/* rw-, r-x, ---, optionally |growsdown or |growsup; or a number. */
static int parse_prot(struct parser *p, const struct token *t, __u64 *prot)
{
	const char *bar = memchr(t->s, '|', t->len);
	size_t len = bar ? (size_t)(bar - t->s) : t->len;
	struct token rest;

	*prot = 0;
	if (t->quoted)
		goto bad;
	if (len == 3 && strchr("r-", t->s[0]) && strchr("w-", t->s[1]) &&
	    strchr("x-", t->s[2]))
		*prot = (t->s[0] == 'r' ? PROT_READ : 0) |
			(t->s[1] == 'w' ? PROT_WRITE : 0) |
			(t->s[2] == 'x' ? PROT_EXEC : 0);
	else if (!parse_number(t->s, len, prot))
		goto bad;
	if (!bar)
		return 0;
	rest.s = bar + 1;
	rest.len = t->len - len - 1;
	rest.quoted = false;
	return parse_flags(p, &rest, "PROT flags", prot_extra_names, prot);
bad:
	err("%s: expected PROT like rw- or r-x, got '%.*s'", p->cmd,
	    (int)t->len, t->s);
	return -1;
}

static int parse_label(struct parser *p, const struct token *t)
{
	int i;

	if (t->quoted || !valid_name(t->s, t->len)) {
		err("%s: expected a LABEL (letters, digits, _), got '%.*s'",
		    p->cmd, (int)t->len, t->s);
		return -1;
	}
	i = find_label(t->s, t->len);
	if (i < 0 || !cli.labels[i].declared) {
		err("%s: unknown address space '%.*s'%s", p->cmd,
		    (int)t->len, t->s,
		    i < 0 ? " (create it first)" : " (it was closed)");
		return -1;
	}
	return i;
}

/* A label for a new address space: create's, fork's child. */
static int new_label(struct parser *p, const struct token *t)
{
	int i;

	if (t->quoted || !valid_name(t->s, t->len)) {
		err("%s: expected a new LABEL (letters, digits, _), got '%.*s'",
		    p->cmd, (int)t->len, t->s);
		return -1;
	}
	i = find_label(t->s, t->len);
	if (i >= 0 && cli.labels[i].declared) {
		err("%s: '%.*s' already names an address space (close it first)",
		    p->cmd, (int)t->len, t->s);
		return -1;
	}
	if (i < 0) {
		cli.labels = grow(cli.labels, cli.nr_labels,
				  sizeof(*cli.labels));
		i = cli.nr_labels++;
		cli.labels[i].name = dup_token(t);
		cli.labels[i].fd = -1;
	}
	cli.labels[i].declared = true;
	return i;
}

/* as=NAME: the variable the command sets; declared from here on. */
static int parse_as(struct parser *p, struct cmd *c)
{
	struct token t;
	int i;

	c->var = -1;
	if (!option(p, "as", &t))
		return 0;
	if (!valid_name(t.s, t.len)) {
		err("%s: expected as=NAME (letters, digits, _), got 'as=%.*s'",
		    p->cmd, (int)t.len, t.s);
		return -1;
	}
	i = find_var(t.s, t.len);
	if (i < 0) {
		cli.vars = grow(cli.vars, cli.nr_vars, sizeof(*cli.vars));
		i = cli.nr_vars++;
		cli.vars[i].name = dup_token(&t);
		cli.vars[i].set = false;
	}
	c->var = i;
	return 0;
}

/* A word that must be one of @words; its index, or -1. */
static int parse_word(struct parser *p, const struct token *t,
		      const char *what, const char *const *words)
{
	int i;

	for (i = 0; words[i]; i++)
		if (!t->quoted && strlen(words[i]) == t->len &&
		    !memcmp(words[i], t->s, t->len))
			return i;
	err("%s: expected %s, got '%.*s'", p->cmd, what, (int)t->len, t->s);
	return -1;
}

/* --- parsing: commands ----------------------------------------------------- */

/* LABEL ADDR LEN, the start of many commands. */
static int parse_range(struct parser *p, struct cmd *c)
{
	c->mm = parse_label(p, &p->pos[0]);
	if (c->mm < 0 || parse_expr(p, &p->pos[1], "ADDR", &c->e[0]) ||
	    parse_expr(p, &p->pos[2], "LEN", &c->e[1]))
		return -1;
	return 0;
}

/*
 * create's and import's optional last word: legacy, the bottom-up layout
 * (SHADOW_CREATE_LEGACY_LAYOUT) into c->flags.
 */
static int parse_legacy(struct parser *p, struct cmd *c, int at)
{
	static const char *const words[] = { "legacy", NULL };

	c->flags = 0;
	if (p->npos <= at)
		return 0;
	if (parse_word(p, &p->pos[at], "legacy", words) < 0)
		return -1;
	c->flags = SHADOW_CREATE_LEGACY_LAYOUT;
	return 0;
}

static int parse_create(struct parser *p, struct cmd *c)
{
	struct token t;

	if (nargs(p, c, 1, 2) || parse_legacy(p, c, 1))
		return -1;
	if (option(p, "mmap_base", &t) &&
	    parse_expr(p, &t, "mmap_base=ADDR", &c->e[0]))
		return -1;
	c->mm = new_label(p, &p->pos[0]);
	return c->mm < 0 ? -1 : 0;
}

static int parse_mmap(struct parser *p, struct cmd *c)
{
	struct token t;

	if (nargs(p, c, 5, 5))
		return -1;
	c->mm = parse_label(p, &p->pos[0]);
	if (c->mm < 0)
		return -1;
	if ((p->pos[1].len != 1 || p->pos[1].s[0] != '-' ||
	     p->pos[1].quoted) &&
	    parse_expr(p, &p->pos[1], "ADDR or -", &c->e[0]))
		return -1;
	if (parse_expr(p, &p->pos[2], "LEN", &c->e[1]) ||
	    parse_prot(p, &p->pos[3], &c->prot) ||
	    parse_flags(p, &p->pos[4], "FLAGS", map_flag_names, &c->flags))
		return -1;
	if (option(p, "offset", &t) &&
	    parse_expr(p, &t, "offset=N", &c->e[2]))
		return -1;
	if (option(p, "file", &t)) {
		if (!t.len) {
			err("%s: expected file=PATH, got an empty PATH", p->cmd);
			return -1;
		}
		if (c->flags & MAP_ANONYMOUS) {
			err("%s: file= maps a file: FLAGS must not hold anonymous",
			    p->cmd);
			return -1;
		}
		c->src = dup_token(&t);
	}
	if (option(p, "root", &t)) {
		if (!c->src) {
			err("%s: root=DIR is where file=PATH starts: no file=",
			    p->cmd);
			return -1;
		}
		c->root = dup_token(&t);
	}
	return parse_as(p, c);
}

static int parse_range_only(struct parser *p, struct cmd *c)
{
	if (nargs(p, c, 3, 3))
		return -1;
	return parse_range(p, c);
}

static int parse_mprotect(struct parser *p, struct cmd *c)
{
	if (nargs(p, c, 4, 4) || parse_range(p, c))
		return -1;
	return parse_prot(p, &p->pos[3], &c->prot);
}

static int parse_madvise(struct parser *p, struct cmd *c)
{
	const struct name_val *nv;
	char known[256];

	if (nargs(p, c, 4, 4) || parse_range(p, c))
		return -1;
	nv = lookup(advice_names, p->pos[3].s, p->pos[3].len);
	if (nv && !p->pos[3].quoted) {
		c->flags = nv->val;
		return 0;
	}
	if (!p->pos[3].quoted &&
	    parse_number(p->pos[3].s, p->pos[3].len, &c->flags))
		return 0;
	list_names(advice_names, known, sizeof(known));
	err("%s: expected ADVICE (%s, or a number), got '%.*s'", p->cmd,
	    known, (int)p->pos[3].len, p->pos[3].s);
	return -1;
}

static int parse_mremap(struct parser *p, struct cmd *c)
{
	struct token t;
	int i;

	if (nargs(p, c, 4, MAX_TOKENS) || parse_range(p, c) ||
	    parse_expr(p, &p->pos[3], "NEWLEN", &c->e[2]))
		return -1;
	for (i = 4; i < p->npos; i++)
		if (parse_flags(p, &p->pos[i], "mremap flags",
				mremap_flag_names, &c->flags))
			return -1;
	if (option(p, "to", &t) && parse_expr(p, &t, "to=ADDR", &c->e[3]))
		return -1;
	return parse_as(p, c);
}

static int parse_mlock(struct parser *p, struct cmd *c)
{
	static const char *const words[] = { "onfault", NULL };

	if (nargs(p, c, 3, 4) || parse_range(p, c))
		return -1;
	if (p->npos == 4) {
		if (parse_word(p, &p->pos[3], "onfault", words) < 0)
			return -1;
		c->flags = MLOCK_ONFAULT;
	}
	return 0;
}

static int parse_mlockall(struct parser *p, struct cmd *c)
{
	int i;

	if (nargs(p, c, 2, MAX_TOKENS))
		return -1;
	c->mm = parse_label(p, &p->pos[0]);
	if (c->mm < 0)
		return -1;
	for (i = 1; i < p->npos; i++)
		if (parse_flags(p, &p->pos[i], "mlockall flags", mcl_names,
				&c->flags))
			return -1;
	return 0;
}

static int parse_label_only(struct parser *p, struct cmd *c)
{
	if (nargs(p, c, 1, 1))
		return -1;
	c->mm = parse_label(p, &p->pos[0]);
	return c->mm < 0 ? -1 : 0;
}

static int parse_close(struct parser *p, struct cmd *c)
{
	if (parse_label_only(p, c))
		return -1;
	cli.labels[c->mm].declared = false;
	return 0;
}

static int parse_brk(struct parser *p, struct cmd *c)
{
	struct token t;

	if (nargs(p, c, 1, 2))
		return -1;
	c->mm = parse_label(p, &p->pos[0]);
	if (c->mm < 0)
		return -1;
	if (option(p, "start", &t)) {
		if (p->npos == 2)
			return usage_error(p, c->type,
					   "ADDR and start= together");
		c->flags = SHADOW_BRK_SET_START;
		return parse_expr(p, &t, "start=ADDR", &c->e[0]);
	}
	if (p->npos == 2)
		return parse_expr(p, &p->pos[1], "ADDR", &c->e[0]);
	return 0;
}

/* thp LABEL [never|madvise|always] [disable=0|1] [zero=0|1] */
static int parse_thp(struct parser *p, struct cmd *c)
{
	static const char *const words[] = {
		"never", "madvise", "always", NULL,
	};
	struct token t;

	if (nargs(p, c, 1, 2))
		return -1;
	c->mm = parse_label(p, &p->pos[0]);
	if (c->mm < 0)
		return -1;
	if (p->npos == 2) {
		c->mode = parse_word(p, &p->pos[1], "never, madvise or always",
				     words);
		if (c->mode < 0)
			return -1;
		c->flags |= SHADOW_THP_SET_MODE;
	}
	if (option(p, "disable", &t)) {
		c->flags |= SHADOW_THP_SET_DISABLE;
		if (parse_expr(p, &t, "disable=0|1", &c->e[0]))
			return -1;
	}
	if (option(p, "zero", &t)) {
		c->flags |= SHADOW_THP_SET_USE_ZERO_PAGE;
		if (parse_expr(p, &t, "zero=0|1", &c->e[1]))
			return -1;
	}
	return 0;
}

static int parse_touch(struct parser *p, struct cmd *c)
{
	static const char *const words[] = { "read", "write", "exec", NULL };

	if (nargs(p, c, 4, 4) || parse_range(p, c))
		return -1;
	c->mode = parse_word(p, &p->pos[3], "read, write or exec", words);
	return c->mode < 0 ? -1 : 0;
}

static int parse_force(struct parser *p, struct cmd *c, int i)
{
	static const char *const words[] = { "force", NULL };

	if (p->npos <= i)
		return 0;
	if (parse_word(p, &p->pos[i], "force", words) < 0)
		return -1;
	c->flags |= SHADOW_ACCESS_FORCE;
	return 0;
}

static int parse_write(struct parser *p, struct cmd *c)
{
	struct token fill, len;
	__u64 byte;

	if (nargs(p, c, 2, 4))
		return -1;
	c->mm = parse_label(p, &p->pos[0]);
	if (c->mm < 0 || parse_expr(p, &p->pos[1], "ADDR", &c->e[0]))
		return -1;
	if (option(p, "fill", &fill)) {
		if (nargs(p, c, 2, 3) || parse_force(p, c, 2))
			return -1;
		if (!parse_number(fill.s, fill.len, &byte) || byte > 255) {
			err("%s: expected fill=BYTE (0 to 255), got 'fill=%.*s'",
			    p->cmd, (int)fill.len, fill.s);
			return -1;
		}
		if (!option(p, "len", &len))
			return usage_error(p, c->type, "fill= without len=");
		c->mode = 1;
		c->fill = byte;
		return parse_expr(p, &len, "len=N", &c->e[1]);
	}
	if (nargs(p, c, 3, 4) || parse_force(p, c, 3))
		return -1;
	if (!p->pos[2].quoted) {
		err("%s: expected a \"STRING\" or fill=BYTE len=N, got '%.*s'",
		    p->cmd, (int)p->pos[2].len, p->pos[2].s);
		return -1;
	}
	c->data = dup_token(&p->pos[2]);
	c->data_len = p->pos[2].len;
	return 0;
}

static int parse_read(struct parser *p, struct cmd *c)
{
	static const char *const words[] = { "text", "hex", NULL };
	int i = 3;

	if (nargs(p, c, 3, 5) || parse_range(p, c))
		return -1;
	if (p->npos > i && !(p->pos[i].len == 5 &&
			     !memcmp(p->pos[i].s, "force", 5))) {
		c->mode = parse_word(p, &p->pos[i], "hex, text or force",
				     words);
		if (c->mode < 0)
			return -1;
		i++;
	}
	if (p->npos > i + 1)
		return usage_error(p, c->type, "too many arguments");
	return parse_force(p, c, i);
}

static int parse_fork(struct parser *p, struct cmd *c)
{
	static const char *const words[] = { "vm", "odf", NULL };
	static const __u64 flags[] = { SHADOW_FORK_VM, SHADOW_FORK_ODF };
	int i;

	if (nargs(p, c, 2, 3))
		return -1;
	c->mm = parse_label(p, &p->pos[0]);
	if (c->mm < 0)
		return -1;
	c->flags = 0;
	if (p->npos == 3) {
		i = parse_word(p, &p->pos[2], "vm or odf", words);
		if (i < 0)
			return -1;
		c->flags = flags[i];
	}
	c->mm2 = new_label(p, &p->pos[1]);
	return c->mm2 < 0 ? -1 : 0;
}

static int parse_vmas(struct parser *p, struct cmd *c)
{
	if (nargs(p, c, 1, 3))
		return -1;
	if (p->npos == 2)
		return usage_error(p, c->type, "START without END");
	c->mm = parse_label(p, &p->pos[0]);
	if (c->mm < 0)
		return -1;
	if (p->npos == 3 &&
	    (parse_expr(p, &p->pos[1], "START", &c->e[0]) ||
	     parse_expr(p, &p->pos[2], "END", &c->e[1])))
		return -1;
	return 0;
}

static int parse_walk(struct parser *p, struct cmd *c)
{
	if (nargs(p, c, 3, 3))
		return -1;
	c->mm = parse_label(p, &p->pos[0]);
	if (c->mm < 0 || parse_expr(p, &p->pos[1], "ADDR", &c->e[0]) ||
	    parse_expr(p, &p->pos[2], "NPAGES", &c->e[1]))
		return -1;
	return 0;
}

/* import LABEL PID|FILE [stat=FILE] [root=DIR] [mmap_base=ADDR] [legacy] */
static int parse_import(struct parser *p, struct cmd *c)
{
	struct token t;

	if (nargs(p, c, 2, 3) || parse_legacy(p, c, 2))
		return -1;
	if (p->pos[1].len != strlen(p->pos[1].s) || !p->pos[1].len) {
		err("%s: expected a PID or a FILE, got '%.*s'", p->cmd,
		    (int)p->pos[1].len, p->pos[1].s);
		return -1;
	}
	c->src = dup_token(&p->pos[1]);
	if (option(p, "stat", &t))
		c->stat = dup_token(&t);
	if (option(p, "root", &t))
		c->root = dup_token(&t);
	if (option(p, "mmap_base", &t) &&
	    parse_expr(p, &t, "mmap_base=ADDR", &c->e[0]))
		return -1;
	c->mm = new_label(p, &p->pos[0]);
	return c->mm < 0 ? -1 : 0;
}

static int parse_none(struct parser *p, struct cmd *c)
{
	return nargs(p, c, 0, 0);
}

static int parse_echo(struct parser *p, struct cmd *c)
{
	size_t n = 0;
	int i;

	/* key=value words are echoed too, in their place. */
	for (i = 0; i < p->npos; i++)
		n += p->pos[i].len + 1;
	c->data = calloc(1, n + 1);
	if (!c->data)
		return -1;
	for (i = 0, n = 0; i < p->npos; i++) {
		memcpy(c->data + n, p->pos[i].s, p->pos[i].len);
		n += p->pos[i].len;
		if (i + 1 < p->npos)
			c->data[n++] = ' ';
	}
	c->data_len = n;
	return 0;
}

static int parse_sleep(struct parser *p, struct cmd *c)
{
	if (nargs(p, c, 1, 1))
		return -1;
	return parse_expr(p, &p->pos[0], "MS", &c->e[0]);
}

/* --- running --------------------------------------------------------------- */

static int eval(const struct expr *e, __u64 *val)
{
	__u64 v = 0;
	int i;

	for (i = 0; i < e->nr; i++) {
		const struct term *t = &e->t[i];
		__u64 x = t->val;

		if (t->var >= 0) {
			if (!cli.vars[t->var].set) {
				err("$%s has no value: the command that sets it failed",
				    cli.vars[t->var].name);
				return -1;
			}
			x = cli.vars[t->var].val;
		}
		v = t->neg ? v - x : v + x;
	}
	*val = v;
	return 0;
}

/* Evaluate @n expressions of @c into @v. */
static int eval_args(struct cmd *c, int n, __u64 *v)
{
	int i;

	for (i = 0; i < n; i++)
		if (eval(&c->e[i], &v[i]))
			return -1;
	return 0;
}

static int mm_fd(struct cmd *c, int label)
{
	if (cli.labels[label].fd < 0) {
		err("%s has no address space: the command that made it failed",
		    cli.labels[label].name);
		return -1;
	}
	return cli.labels[label].fd;
}

static int do_ioctl(int fd, unsigned long req, void *arg)
{
	return ioctl(fd, req, arg) < 0 ? -errno : 0;
}

static void set_var(struct cmd *c, __u64 val)
{
	if (c->var < 0)
		return;
	cli.vars[c->var].set = true;
	cli.vars[c->var].val = val;
}

/* A call's result: printed as "ok ADDR" by -r instead. */
static void set_result(struct cmd *c, __u64 val)
{
	c->result = val;
	c->has_result = true;
}

static void print_range(const char *label, const char *what, __u64 start,
			__u64 len, struct cmd *c)
{
	set_result(c, start);
	if (cli.replay)
		return;
	printf("%s: %s 0x%llx-0x%llx", label, what, (unsigned long long)start,
	       (unsigned long long)(start + ((len + PAGE - 1) & ~(PAGE - 1))));
	if (c->var >= 0)
		printf(" as $%s", cli.vars[c->var].name);
	putchar('\n');
}

static int run_create(struct cmd *c)
{
	struct shadow_mm_create cr = { .size = sizeof(cr) };
	struct label *l = &cli.labels[c->mm];
	__u64 base = 0;
	int fd;

	if (c->e[0].nr && eval(&c->e[0], &base))
		return RUN_FATAL;
	cr.mmap_base = base;
	cr.flags = c->flags;
	fd = ioctl(cli.dev, SHADOW_MM_CREATE, &cr);
	if (fd < 0)
		return -errno;
	l->fd = fd;
	if (!cli.replay)
		printf("%s: id %u\n", l->name, cr.out_id);
	return 0;
}

/*
 * mmap's file=PATH into m->fd: under root=DIR when the line has one, else
 * under the last import's root= when PATH is absolute. It is opened for
 * reading, and for writing too when a shared mapping is to be writable,
 * as import opens its files. /dev/zero becomes what Linux's mmap_zero()
 * makes of it, anonymous memory (shared or private), so that m->fd stays
 * -1. 0, or RUN_FATAL (reported).
 */
static int open_mapped(struct cmd *c, struct shadow_mm_mmap *m)
{
	bool rw = (c->flags & MAP_SHARED) && (c->prot & PROT_WRITE);
	const char *root = c->root ? c->root : cli.root;
	char path[PATH_MAX];
	struct stat st;

	if (!c->root && c->src[0] != '/')
		root = "";
	if (snprintf(path, sizeof(path), "%s%s%s", root,
		     *root && c->src[0] != '/' ? "/" : "", c->src) >=
	    (int)sizeof(path)) {
		err("mmap: file=%s: the path is too long", c->src);
		return RUN_FATAL;
	}
	m->fd = open(path, (rw ? O_RDWR : O_RDONLY) | O_CLOEXEC);
	if (m->fd < 0) {
		err("mmap: file=%s: %s (%s)", path, strerror(errno),
		    errno_name(errno));
		return RUN_FATAL;
	}
	if (!fstat(m->fd, &st) && S_ISCHR(st.st_mode) &&
	    st.st_rdev == makedev(1, 5)) {
		close(m->fd);
		m->fd = -1;
		m->map_flags |= MAP_ANONYMOUS;
	}
	return 0;
}

static int run_mmap(struct cmd *c)
{
	struct shadow_mm_mmap m = {
		.size = sizeof(m), .prot = c->prot, .map_flags = c->flags,
		.fd = -1,
	};
	__u64 v[3] = { 0, 0, 0 };
	int fd = mm_fd(c, c->mm), ret;

	if (fd < 0 || eval_args(c, 3, v))
		return RUN_FATAL;
	m.addr = v[0];
	m.len = v[1];
	m.offset = v[2];
	if (c->src && open_mapped(c, &m))
		return RUN_FATAL;
	ret = do_ioctl(fd, SHADOW_MM_MMAP, &m);
	if (m.fd >= 0)
		close(m.fd);
	if (ret)
		return ret;
	set_var(c, m.out_addr);
	print_range(cli.labels[c->mm].name, "mapped", m.out_addr, m.len, c);
	return 0;
}

static int run_munmap(struct cmd *c)
{
	struct shadow_mm_munmap u = { .size = sizeof(u) };
	int fd = mm_fd(c, c->mm);
	__u64 v[2];

	if (fd < 0 || eval_args(c, 2, v))
		return RUN_FATAL;
	u.addr = v[0];
	u.len = v[1];
	return do_ioctl(fd, SHADOW_MM_MUNMAP, &u);
}

static int run_mprotect(struct cmd *c)
{
	struct shadow_mm_mprotect m = { .size = sizeof(m), .prot = c->prot };
	int fd = mm_fd(c, c->mm);
	__u64 v[2];

	if (fd < 0 || eval_args(c, 2, v))
		return RUN_FATAL;
	m.addr = v[0];
	m.len = v[1];
	return do_ioctl(fd, SHADOW_MM_MPROTECT, &m);
}

static int run_madvise(struct cmd *c)
{
	struct shadow_mm_madvise m = { .size = sizeof(m),
				       .advice = (int)c->flags };
	int fd = mm_fd(c, c->mm);
	__u64 v[2];

	if (fd < 0 || eval_args(c, 2, v))
		return RUN_FATAL;
	m.addr = v[0];
	m.len = v[1];
	return do_ioctl(fd, SHADOW_MM_MADVISE, &m);
}

static int run_mremap(struct cmd *c)
{
	struct shadow_mm_mremap m = { .size = sizeof(m),
				      .mremap_flags = c->flags };
	int fd = mm_fd(c, c->mm), ret;
	__u64 v[4] = { 0, 0, 0, 0 };

	if (fd < 0 || eval_args(c, 4, v))
		return RUN_FATAL;
	m.old_addr = v[0];
	m.old_len = v[1];
	m.new_len = v[2];
	m.new_addr = v[3];
	ret = do_ioctl(fd, SHADOW_MM_MREMAP, &m);
	if (ret)
		return ret;
	set_var(c, m.out_addr);
	print_range(cli.labels[c->mm].name, "remapped to", m.out_addr,
		    m.new_len, c);
	return 0;
}

static int run_mlock(struct cmd *c)
{
	struct shadow_mm_mlock m = { .size = sizeof(m),
				     .mlock_flags = c->flags };
	int fd = mm_fd(c, c->mm);
	__u64 v[2];

	if (fd < 0 || eval_args(c, 2, v))
		return RUN_FATAL;
	m.addr = v[0];
	m.len = v[1];
	return do_ioctl(fd, SHADOW_MM_MLOCK, &m);
}

static int run_munlock(struct cmd *c)
{
	struct shadow_mm_munlock m = { .size = sizeof(m) };
	int fd = mm_fd(c, c->mm);
	__u64 v[2];

	if (fd < 0 || eval_args(c, 2, v))
		return RUN_FATAL;
	m.addr = v[0];
	m.len = v[1];
	return do_ioctl(fd, SHADOW_MM_MUNLOCK, &m);
}

static int run_mlockall(struct cmd *c)
{
	struct shadow_mm_mlockall m = { .size = sizeof(m),
					.mcl_flags = c->flags };
	int fd = mm_fd(c, c->mm);

	return fd < 0 ? RUN_FATAL : do_ioctl(fd, SHADOW_MM_MLOCKALL, &m);
}

static int run_munlockall(struct cmd *c)
{
	struct shadow_mm_munlockall m = { .size = sizeof(m) };
	int fd = mm_fd(c, c->mm);

	return fd < 0 ? RUN_FATAL : do_ioctl(fd, SHADOW_MM_MUNLOCKALL, &m);
}

static int run_brk(struct cmd *c)
{
	struct shadow_mm_brk b = { .size = sizeof(b), .flags = c->flags };
	int fd = mm_fd(c, c->mm), ret;
	__u64 v = 0;

	if (fd < 0 || (c->e[0].nr && eval(&c->e[0], &v)))
		return RUN_FATAL;
	b.brk = v;
	ret = do_ioctl(fd, SHADOW_MM_BRK, &b);
	if (ret)
		return ret;
	set_result(c, b.out_brk);
	if (!cli.replay)
		printf("%s: brk 0x%llx start_brk 0x%llx\n",
		       cli.labels[c->mm].name, (unsigned long long)b.out_brk,
		       (unsigned long long)b.out_start_brk);
	return 0;
}

static int run_touch(struct cmd *c)
{
	static const unsigned int kinds[] = {
		0, SHADOW_FAULT_WRITE, SHADOW_FAULT_EXEC,
	};
	struct shadow_mm_fault f = { .size = sizeof(f),
				     .flags = kinds[c->mode] };
	int fd = mm_fd(c, c->mm), ret;
	__u64 v[2];

	if (fd < 0 || eval_args(c, 2, v))
		return RUN_FATAL;
	f.addr = v[0];
	f.len = v[1];
	ret = do_ioctl(fd, SHADOW_MM_FAULT, &f);
	if (ret) {
		snprintf(c->detail, sizeof(c->detail), " after %llu page%s",
			 (unsigned long long)f.out_nr_pages,
			 f.out_nr_pages == 1 ? "" : "s");
		return ret;
	}
	if (!cli.replay)
		printf("%s: touched %llu page%s\n", cli.labels[c->mm].name,
		       (unsigned long long)f.out_nr_pages,
		       f.out_nr_pages == 1 ? "" : "s");
	return 0;
}

static void print_count(__u64 done, __u64 asked, const char *unit)
{
	if (done == asked)
		printf("%llu %s%s", (unsigned long long)done, unit,
		       done == 1 ? "" : "s");
	else
		printf("%llu of %llu %ss", (unsigned long long)done,
		       (unsigned long long)asked, unit);
}

static int run_write(struct cmd *c)
{
	struct shadow_mm_access a = { .size = sizeof(a),
				      .flags = SHADOW_ACCESS_WRITE | c->flags };
	int fd = mm_fd(c, c->mm), ret;
	__u64 v[2] = { 0, 0 };
	char *buf = c->data;

	if (fd < 0 || eval_args(c, c->mode ? 2 : 1, v))
		return RUN_FATAL;
	a.addr = v[0];
	a.len = c->mode ? v[1] : c->data_len;
	if (c->mode) {
		if (a.len > MAX_IO) {
			err("write: at most %lu bytes at a time", MAX_IO);
			return RUN_FATAL;
		}
		buf = malloc(a.len + 1);
		if (!buf)
			return -ENOMEM;
		memset(buf, c->fill, a.len);
	}
	a.buf = (uintptr_t)buf;
	ret = do_ioctl(fd, SHADOW_MM_ACCESS, &a);
	if (buf != c->data)
		free(buf);
	if (ret || cli.replay)
		return ret;
	printf("%s: wrote ", cli.labels[c->mm].name);
	print_count(a.out_len, a.len, "byte");
	putchar('\n');
	return 0;
}

static void print_text(const unsigned char *buf, size_t len)
{
	size_t i;

	putchar('"');
	for (i = 0; i < len; i++) {
		int ch = buf[i];

		const char *e = memchr(esc_chars, ch, sizeof(esc_chars));

		if (e)
			printf("\\%c", esc_names[e - esc_chars]);
		else if (isprint(ch))
			putchar(ch);
		else
			printf("\\x%02x", ch);
	}
	fputs("\"\n", stdout);
}

/* hexdump -C, with the shadow addresses. */
static void print_hex(__u64 addr, const unsigned char *buf, size_t len)
{
	size_t i, j;

	for (i = 0; i < len; i += 16) {
		printf("0x%llx ", (unsigned long long)(addr + i));
		for (j = i; j < i + 16; j++) {
			if (j % 8 == 0)
				putchar(' ');
			if (j < len)
				printf("%02x ", buf[j]);
			else
				fputs("   ", stdout);
		}
		fputs(" |", stdout);
		for (j = i; j < i + 16 && j < len; j++)
			putchar(isprint(buf[j]) ? buf[j] : '.');
		fputs("|\n", stdout);
	}
}

static int run_read(struct cmd *c)
{
	struct shadow_mm_access a = { .size = sizeof(a), .flags = c->flags };
	int fd = mm_fd(c, c->mm), ret;
	unsigned char *buf;
	__u64 v[2];

	if (fd < 0 || eval_args(c, 2, v))
		return RUN_FATAL;
	if (v[1] > MAX_IO) {
		err("read: at most %lu bytes at a time", MAX_IO);
		return RUN_FATAL;
	}
	buf = calloc(1, v[1] + 1);
	if (!buf)
		return -ENOMEM;
	a.addr = v[0];
	a.len = v[1];
	a.buf = (uintptr_t)buf;
	ret = do_ioctl(fd, SHADOW_MM_ACCESS, &a);
	if (!ret) {
		if (a.out_len != a.len) {
			printf("%s: read ", cli.labels[c->mm].name);
			print_count(a.out_len, a.len, "byte");
			putchar('\n');
		}
		if (c->mode)
			print_hex(a.addr, buf, a.out_len);
		else
			print_text(buf, a.out_len);
	}
	free(buf);
	return ret;
}

static int run_fork(struct cmd *c)
{
	struct shadow_mm_fork f = { .size = sizeof(f), .flags = c->flags };
	int fd = mm_fd(c, c->mm), child;

	if (fd < 0)
		return RUN_FATAL;
	child = ioctl(fd, SHADOW_MM_FORK, &f);
	if (child < 0)
		return -errno;
	cli.labels[c->mm2].fd = child;
	if (cli.replay)
		return 0;
	if (c->flags & SHADOW_FORK_VM)
		printf("%s: shares %s's address space, id %u\n",
		       cli.labels[c->mm2].name, cli.labels[c->mm].name,
		       f.out_id);
	else
		printf("%s: forked from %s, id %u\n", cli.labels[c->mm2].name,
		       cli.labels[c->mm].name, f.out_id);
	return 0;
}

static int run_exit(struct cmd *c)
{
	struct shadow_mm_exit e = { .size = sizeof(e) };
	int fd = mm_fd(c, c->mm);

	return fd < 0 ? RUN_FATAL : do_ioctl(fd, SHADOW_MM_EXIT, &e);
}

static int run_close(struct cmd *c)
{
	struct label *l = &cli.labels[c->mm];

	if (l->fd >= 0 && close(l->fd))
		return -errno;
	l->fd = -1;
	return 0;
}

/*
 * A maps line with its shared object's or file's inode number replaced by
 * an alias, the name column kept where the kernel puts it: inode numbers
 * change with every file added to the file system.
 */
static void print_maps_line(const char *line, size_t len)
{
	unsigned long long start, end, pgoff, ino;
	unsigned int major, minor;
	char perms[5], out[256];
	int n = 0, w;

	if (sscanf(line, "%llx-%llx %4s %llx %x:%x %llu %n", &start, &end,
		   perms, &pgoff, &major, &minor, &ino, &n) < 7 || !n ||
	    !ino) {
		fwrite(line, 1, len, stdout);
		return;
	}
	w = snprintf(out, sizeof(out), "%08llx-%08llx %s %08llx %02x:%02x %u ",
		     start, end, perms, pgoff, major, minor,
		     !major && minor == 1 ? alias_of(&cli.shmem, ino) :
		     alias_of(&cli.files, ((__u64)major << 52) ^
					  ((__u64)minor << 32) ^ ino));
	printf("%s%*s%.*s", out, w < MAPS_NAME_COLUMN ? MAPS_NAME_COLUMN - w : 0,
	       "", (int)(len - n), line + n);
}

/*
 * The maps text of @fd: *@bufp (malloc()ed, NUL-terminated, NULL when
 * there are no mappings) and its length in *@lenp.
 */
static int get_maps(int fd, char **bufp, size_t *lenp)
{
	struct shadow_mm_get_maps g = { .size = sizeof(g) };
	char *buf = NULL;
	int ret;

	for (;;) {
		ret = do_ioctl(fd, SHADOW_MM_GET_MAPS, &g);
		if (ret != -ENOSPC)
			break;
		free(buf);
		buf = calloc(1, g.out_len + 1);
		if (!buf)
			return -ENOMEM;
		g.buf = (uintptr_t)buf;
		g.buf_len = g.out_len;
	}
	if (ret) {
		free(buf);
		return ret;
	}
	*bufp = buf;
	*lenp = g.out_len;
	return 0;
}

static int run_maps(struct cmd *c)
{
	int fd = mm_fd(c, c->mm), ret;
	char *buf = NULL, *s, *nl;
	size_t len = 0;

	if (fd < 0)
		return RUN_FATAL;
	ret = get_maps(fd, &buf, &len);
	if (ret)
		return ret;
	if (!len)
		puts("(no mappings)");
	for (s = buf; s && s < buf + len; s = nl + 1) {
		nl = memchr(s, '\n', buf + len - s);
		if (!nl)
			nl = buf + len - 1;
		print_maps_line(s, nl - s + 1);
	}
	free(buf);
	return 0;
}

static void print_names(__u64 flags, const struct name_val *names)
{
	const char *sep = "";

	if (!flags) {
		putchar('0');
		return;
	}
	for (; names->name; names++) {
		if (!(flags & names->val))
			continue;
		printf("%s%s", sep, names->name);
		flags &= ~names->val;
		sep = "|";
	}
	if (flags)
		printf("%s0x%llx", sep, (unsigned long long)flags);
}

static int run_vmas(struct cmd *c)
{
	struct shadow_mm_get_vmas g = { .size = sizeof(g) };
	int fd = mm_fd(c, c->mm), ret;
	struct shadow_vma_info *v;
	__u64 range[2] = { 0, SHADOW_TASK_SIZE };
	__u32 i;

	if (fd < 0 || (c->e[0].nr && eval_args(c, 2, range)))
		return RUN_FATAL;
	g.start = range[0];
	g.end = range[1];
	ret = do_ioctl(fd, SHADOW_MM_GET_VMAS, &g);
	if (ret)
		return ret;
	v = calloc(g.out_nr_vmas + 1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	g.vmas = (uintptr_t)v;
	g.nr_vmas = g.out_nr_vmas;
	ret = do_ioctl(fd, SHADOW_MM_GET_VMAS, &g);
	if (!ret && !g.out_nr_vmas)
		puts("(no vmas)");
	for (i = 0; !ret && i < g.out_nr_vmas && i < g.nr_vmas; i++) {
		printf("0x%llx-0x%llx pages=%llu ",
		       (unsigned long long)v[i].start,
		       (unsigned long long)v[i].end,
		       (unsigned long long)(v[i].end - v[i].start) / PAGE);
		if (v[i].backing == SHADOW_VMA_ANON_PRIVATE)
			fputs("anon", stdout);
		else if (v[i].backing == SHADOW_VMA_ANON_SHARED)
			printf("shmem=%u",
			       alias_of(&cli.shmem, v[i].backing_id));
		else
			printf("backing=%u", v[i].backing);
		printf(" pgoff=0x%llx flags=", (unsigned long long)v[i].pgoff);
		print_names(v[i].vm_flags, vm_flag_names);
		putchar('\n');
	}
	free(v);
	return ret;
}

static const struct name_val page_flag_names[] = {
	{ "present", SHADOW_PAGE_PRESENT },
	{ "write", SHADOW_PAGE_WRITE },
	{ "dirty", SHADOW_PAGE_DIRTY },
	{ "young", SHADOW_PAGE_YOUNG },
	{ "zero", SHADOW_PAGE_ZERO },
	{ "anon-exclusive", SHADOW_PAGE_ANON_EXCLUSIVE },
	{ "mmap-exclusive", SHADOW_PAGE_MMAP_EXCLUSIVE },
	{ "shmem", SHADOW_PAGE_SHMEM },
	{ "swap", SHADOW_PAGE_SWAP },
	{ "swapcache", SHADOW_PAGE_SWAPCACHE },
	{ "file", SHADOW_PAGE_FILE },
	{ "pt-shared", SHADOW_PAGE_PT_SHARED },
	{ "thp", SHADOW_PAGE_THP },
	{ "pmd-mapped", SHADOW_PAGE_PMD_MAPPED },
	{ }
};

/* The flags page_flag_names has a name for; others print in hex. */
static __u32 page_flags_named(void)
{
	const struct name_val *nv;
	__u32 named = 0;

	for (nv = page_flag_names; nv->name; nv++)
		named |= nv->val;
	return named;
}

static int run_walk(struct cmd *c)
{
	struct shadow_mm_walk w = { .size = sizeof(w) };
	int fd = mm_fd(c, c->mm), ret;
	struct shadow_page_info *pages = NULL;
	__u64 v[2], i;

	if (fd < 0 || eval_args(c, 2, v))
		return RUN_FATAL;
	w.addr = v[0];
	w.nr_pages = v[1];
	/* Past the limit, the kernel refuses before it looks at @pages. */
	if (w.nr_pages <= MAX_WALK) {
		pages = calloc(w.nr_pages + 1, sizeof(*pages));
		if (!pages)
			return -ENOMEM;
		w.pages = (uintptr_t)pages;
		w.rec_size = sizeof(*pages);
	}
	ret = do_ioctl(fd, SHADOW_MM_WALK, &w);
	for (i = 0; !ret && i < w.nr_pages; i++) {
		const struct shadow_page_info *pi = &pages[i];
		const struct name_val *nv;
		const char *sep = "";

		printf("0x%llx ", (unsigned long long)(w.addr + i * PAGE));
		if (!(pi->flags & SHADOW_PAGE_PRESENT))
			fputs("none", stdout);
		for (nv = page_flag_names; nv->name; nv++) {
			if (pi->flags & nv->val) {
				printf("%s%s", sep, nv->name);
				sep = " ";
			}
		}
		if (pi->flags & ~page_flags_named())
			printf(" 0x%x", pi->flags & ~page_flags_named());
		if (pi->page_id)
			printf(" p%u mapcount=%u",
			       alias_of(&cli.pages, pi->page_id), pi->mapcount);
		putchar('\n');
	}
	free(pages);
	return ret;
}

static int run_thp(struct cmd *c)
{
	static const char *const modes[] = { "never", "madvise", "always" };
	struct shadow_mm_thp t = { .size = sizeof(t), .flags = c->flags,
				   .mode = c->mode };
	int fd = mm_fd(c, c->mm), ret;
	__u64 v = 0;

	if (fd < 0)
		return RUN_FATAL;
	if (c->flags & SHADOW_THP_SET_DISABLE) {
		if (eval(&c->e[0], &v))
			return RUN_FATAL;
		t.disable = v;
	}
	if (c->flags & SHADOW_THP_SET_USE_ZERO_PAGE) {
		if (eval(&c->e[1], &v))
			return RUN_FATAL;
		t.use_zero_page = v;
	}
	ret = do_ioctl(fd, SHADOW_MM_SET_THP, &t);
	if (ret)
		return ret;
	if (!cli.replay)
		printf("thp=%s disable=%u zero=%u\n",
		       t.out_mode < 3 ? modes[t.out_mode] : "?",
		       t.out_disable, t.out_use_zero_page);
	return 0;
}

static int run_stats(struct cmd *c)
{
	struct shadow_mm_stats s = { .size = sizeof(s) };
	int fd = mm_fd(c, c->mm), ret;

	if (fd < 0)
		return RUN_FATAL;
	ret = do_ioctl(fd, SHADOW_MM_GET_STATS, &s);
	if (ret)
		return ret;
	printf("id=%u mm_users=%u mm_count=%u map_count=%u\n", s.out_id,
	       s.out_mm_users, s.out_mm_count, s.out_map_count);
	printf("total_vm=%llu locked_vm=%llu data_vm=%llu exec_vm=%llu stack_vm=%llu\n",
	       (unsigned long long)s.out_total_vm,
	       (unsigned long long)s.out_locked_vm,
	       (unsigned long long)s.out_data_vm,
	       (unsigned long long)s.out_exec_vm,
	       (unsigned long long)s.out_stack_vm);
	printf("rss_anon=%llu rss_shmem=%llu nr_puds=%llu nr_pmds=%llu nr_ptes=%llu\n",
	       (unsigned long long)s.out_rss_anon,
	       (unsigned long long)s.out_rss_shmem,
	       (unsigned long long)s.out_nr_puds,
	       (unsigned long long)s.out_nr_pmds,
	       (unsigned long long)s.out_nr_ptes);
	printf("min_flt=%llu maj_flt=%llu cow_copies=%llu cow_reuses=%llu\n",
	       (unsigned long long)s.out_min_flt,
	       (unsigned long long)s.out_maj_flt,
	       (unsigned long long)s.out_cow_copies,
	       (unsigned long long)s.out_cow_reuses);
	printf("mmap_base=0x%llx task_size=0x%llx start_brk=0x%llx brk=0x%llx def_flags=",
	       (unsigned long long)s.out_mmap_base,
	       (unsigned long long)s.out_task_size,
	       (unsigned long long)s.out_start_brk,
	       (unsigned long long)s.out_brk);
	print_names(s.out_def_flags, vm_flag_names);
	putchar('\n');
	/* What exec sets, once an import or a stack mapping set it. */
	if (!s.out_start_code && !s.out_start_stack)
		return 0;
	printf("code=0x%llx-0x%llx data=0x%llx-0x%llx start_stack=0x%llx ",
	       (unsigned long long)s.out_start_code,
	       (unsigned long long)s.out_end_code,
	       (unsigned long long)s.out_start_data,
	       (unsigned long long)s.out_end_data,
	       (unsigned long long)s.out_start_stack);
	printf("arg=0x%llx-0x%llx env=0x%llx-0x%llx\n",
	       (unsigned long long)s.out_arg_start,
	       (unsigned long long)s.out_arg_end,
	       (unsigned long long)s.out_env_start,
	       (unsigned long long)s.out_env_end);
	return 0;
}

static int run_counters(struct cmd *c)
{
	FILE *f = fopen(SHADOW_COUNTERS, "r");
	char line[256];

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f))
		fputs(line, stdout);
	fclose(f);
	return 0;
}

static int run_echo(struct cmd *c)
{
	fwrite(c->data, 1, c->data_len, stdout);
	putchar('\n');
	return 0;
}

static int run_sleep(struct cmd *c)
{
	struct timespec ts;
	__u64 ms;

	if (eval(&c->e[0], &ms))
		return RUN_FATAL;
	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (ms % 1000) * 1000000;
	while (nanosleep(&ts, &ts))
		if (errno != EINTR)
			return -errno;
	return 0;
}

/* --- import ---------------------------------------------------------------- */

/* How import builds one line of a maps file. */
enum import_kind {
	IMPORT_ANON,		/* private anonymous memory */
	IMPORT_SHMEM,		/* /dev/zero (deleted): shared anonymous memory */
	IMPORT_FILE,		/* a file, by its path */
	IMPORT_HEAP,		/* [heap]: by brk */
	IMPORT_BSS,		/* [heap] up to start_brk: anonymous memory */
	IMPORT_STACK,		/* [stack]: the exec stack, start_stack in it */
	IMPORT_VDSO,		/* [vdso]: the special mapping */
	IMPORT_VVAR,		/* [vvar]: the special mapping */
	IMPORT_STANDIN,		/* anonymous memory in its place */
	IMPORT_SKIP,		/* nothing: outside the address space */
};

/* One line of a maps file. */
struct maps_line {
	__u64 start, end, offset;
	char perms[5];
	char *name;			/* "" when the line names nothing */
	int line;			/* in the maps file */
	enum import_kind kind;
	const char *why;		/* why it is not reproduced, or NULL */
	bool noreserve;			/* keeps it from merging with the last */
	bool seen;			/* compared with a line of the source */
};

struct import {
	const char *maps;		/* the maps file's name, for messages */
	struct maps_line *lines;
	int nr;
	/* /proc/PID/stat's, fields 26 to 28 and 45 to 51; 0: not known */
	__u64 start_code, end_code, start_stack;
	__u64 start_data, end_data, start_brk;
	__u64 arg_start, arg_end, env_start, env_end;
	char root[PATH_MAX];		/* where the files' paths start, or "" */
	int fd;				/* the new address space */
	int not_reproduced, differ;
};

static bool take_hex(const char **s, char end, __u64 *val)
{
	const char *p = *s;
	__u64 v = 0;

	if (hexval((unsigned char)*p) < 0)
		return false;
	for (; *p && hexval((unsigned char)*p) >= 0; p++) {
		if (v >> 60)
			return false;
		v = v * 16 + hexval((unsigned char)*p);
	}
	if (*p != end)
		return false;
	*val = v;
	*s = p + 1;
	return true;
}

/*
 * One line of /proc/PID/maps, "START-END PERMS OFFSET MAJOR:MINOR INODE"
 * and the name after blanks, into @l: 0, or -1 when malformed (reported
 * as @maps:@nr unless @maps is NULL).
 */
static int parse_maps_line(const char *maps, const char *text, int nr,
			   struct maps_line *l)
{
	static const char *const perms[] = { "r-", "w-", "x-", "ps" };
	const char *s = text;
	__u64 dev;
	int i;

	memset(l, 0, sizeof(*l));
	l->line = nr;
	if (!take_hex(&s, '-', &l->start) || !take_hex(&s, ' ', &l->end))
		goto bad;
	for (i = 0; i < 4 && s[i] && s[i] != ' '; i++)
		if (!strchr(perms[i], s[i]))
			goto bad_perm;
	if (i < 4)
		goto bad;
	memcpy(l->perms, s, 4);
	s += 4;
	if (*s++ != ' ' || !take_hex(&s, ' ', &l->offset) ||
	    !take_hex(&s, ':', &dev) || !take_hex(&s, ' ', &dev) ||
	    !isdigit((unsigned char)*s))
		goto bad;
	while (isdigit((unsigned char)*s))
		s++;
	if (*s && *s != ' ')
		goto bad;
	while (*s == ' ')
		s++;
	if (l->start >= l->end || (l->start | l->end | l->offset) & (PAGE - 1))
		goto bad_range;
	l->name = strdup(s);
	return l->name ? 0 : -1;
bad:
	if (maps)
		err("import: %s:%d: expected START-END PERMS OFFSET DEV INODE [NAME], got '%s'",
		    maps, nr, text);
	return -1;
bad_perm:
	if (maps)
		err("import: %s:%d: unknown permission '%c' in '%.4s' (expected [r-][w-][x-][ps])",
		    maps, nr, s[i], s);
	return -1;
bad_range:
	if (maps)
		err("import: %s:%d: expected a page-aligned START < END and OFFSET, got '%s'",
		    maps, nr, text);
	return -1;
}

/* Every line of @path into @im: 0, or -errno (reported). */
static int read_maps(struct import *im, const char *path)
{
	FILE *f = fopen(path, "r");
	char *text = NULL;
	size_t cap = 0;
	ssize_t len;
	int nr, ret = 0;

	if (!f) {
		ret = -errno;
		err("import: %s: %s", path, strerror(-ret));
		return ret;
	}
	for (nr = 1; (len = getline(&text, &cap, f)) >= 0; nr++) {
		struct maps_line *l;

		while (len && (text[len - 1] == '\n' || text[len - 1] == '\r'))
			text[--len] = '\0';
		if (!len)
			continue;
		im->lines = grow(im->lines, im->nr, sizeof(*im->lines));
		l = &im->lines[im->nr];
		if (parse_maps_line(path, text, nr, l)) {
			ret = -EINVAL;
			break;
		}
		im->nr++;
		if (im->nr > 1 && l->start < l[-1].end) {
			err("import: %s:%d: overlaps or precedes the line before it",
			    path, nr);
			ret = -EINVAL;
			break;
		}
	}
	free(text);
	fclose(f);
	return ret;
}

/*
 * The layout fields of /proc/PID/stat (proc(5)), counted after the command
 * name's closing parenthesis (field 2, which may hold blanks): start_code,
 * end_code and start_stack (26 to 28), start_data, end_data and start_brk
 * (45 to 47) and, where the kernel writes them (3.5 on), arg_start,
 * arg_end, env_start and env_end (48 to 51). They read 0 without ptrace
 * access.
 */
static int read_stat(struct import *im, const char *path)
{
	char buf[4096], *s, *end;
	__u64 field[52] = { 0 };
	size_t n;
	int i = 3;
	FILE *f = fopen(path, "r");

	if (!f) {
		i = -errno;
		err("import: %s: %s", path, strerror(-i));
		return i;
	}
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	s = strrchr(buf, ')');
	/* Field 3, the state, is a letter: it reads as 0. */
	for (s = s ? s + 1 : buf + n; i < 52; i++) {
		while (*s == ' ')
			s++;
		if (!*s || *s == '\n')
			break;
		field[i] = strtoull(s, &end, 10);
		s += strcspn(s, "\n ");
	}
	if (i < 48) {
		err("import: %s: expected /proc/PID/stat's fields up to start_brk (47), got %d",
		    path, i - 1);
		return -EINVAL;
	}
	im->start_code = field[26];
	im->end_code = field[27];
	im->start_stack = field[28];
	im->start_data = field[45];
	im->end_data = field[46];
	im->start_brk = field[47];
	im->arg_start = field[48];
	im->arg_end = field[49];
	im->env_start = field[50];
	im->env_end = field[51];
	return 0;
}

/*
 * Why a line cannot be built as it is, or NULL; sets its kind. The ELF
 * loader maps the bss beyond the file's last page with vm_brk_flags() and
 * sets start_brk at its end: Linux shows that VMA as [heap] (it touches
 * [start_brk, brk]), and brk(2) then makes a VMA of its own above it
 * (do_brk_flags() is given no VMA to expand below start_brk). So a [heap]
 * line that ends at @start_brk is the bss, anonymous memory, which the
 * engine names [heap] for the same reason. Linux 6.5 and later name it
 * nothing (vma_is_initial_heap() wants it to reach past start_brk): an
 * unnamed private line that ends there is the bss too.
 */
static const char *classify(struct maps_line *l, __u64 start_brk)
{
	const char *name = l->name;
	size_t len = strlen(name);
	static const char deleted[] = " (deleted)";
	size_t dlen = sizeof(deleted) - 1;

	l->kind = IMPORT_STANDIN;
	if (l->end > SHADOW_TASK_SIZE) {
		l->kind = IMPORT_SKIP;
		return "above the user address space: not mapped";
	}
	if ((!strcmp(name, "[heap]") || (!*name && l->perms[3] == 'p')) &&
	    start_brk && l->end == start_brk) {
		l->kind = IMPORT_BSS;
		return NULL;
	}
	if (!strcmp(name, "[heap]")) {
		l->kind = IMPORT_HEAP;
		return NULL;
	}
	if (!strcmp(name, "[stack]") && l->perms[3] == 'p' &&
	    !strncmp(l->perms, "rw", 2)) {
		l->kind = IMPORT_STACK;
		return NULL;
	}
	if (!strcmp(name, "[vdso]") && !strcmp(l->perms, "r-xp")) {
		l->kind = IMPORT_VDSO;
		return NULL;
	}
	if (!strcmp(name, "[vvar]") && !strcmp(l->perms, "r--p")) {
		l->kind = IMPORT_VVAR;
		return NULL;
	}
	if (!strncmp(name, "[anon:", 6))
		return "a named anonymous mapping: mapped without its name";
	if (name[0] == '[')
		return "a special mapping: anonymous memory in its place";
	if (!*name && l->perms[3] == 'p') {
		l->kind = IMPORT_ANON;
		return NULL;
	}
	if (!strcmp(name, "/dev/zero (deleted)") && l->perms[3] == 's') {
		if (l->offset)
			return "shared anonymous memory at an offset: mapped at offset 0";
		l->kind = IMPORT_SHMEM;
		return NULL;
	}
	if (len > dlen && !strcmp(name + len - dlen, deleted))
		return "a deleted file: anonymous memory in its place";
	if (name[0] == '/') {
		l->kind = IMPORT_FILE;
		return NULL;
	}
	return "anonymous memory in its place";
}

static void not_reproduced(struct import *im, const struct maps_line *l,
			   const char *why)
{
	printf("# not reproduced: %s:%d: %llx-%llx %s%s%s: %s\n", im->maps,
	       l->line, (unsigned long long)l->start,
	       (unsigned long long)l->end, l->perms, *l->name ? " " : "",
	       l->name, why);
	im->not_reproduced++;
}

static __u32 prot_of(const char *perms)
{
	return (perms[0] == 'r' ? PROT_READ : 0) |
	       (perms[1] == 'w' ? PROT_WRITE : 0) |
	       (perms[2] == 'x' ? PROT_EXEC : 0);
}

/*
 * [heap]: brk from start_brk to the end of the last [heap] line, then
 * each [heap] line's permissions.
 */
static int import_heap(struct import *im, struct maps_line *l)
{
	struct shadow_mm_brk b = { .size = sizeof(b) };
	struct shadow_mm_mprotect mp = { .size = sizeof(mp) };
	int i, ret;

	for (i = l - im->lines; i < im->nr; i++)
		if (im->lines[i].kind == IMPORT_HEAP)
			b.brk = im->lines[i].end;
	if (l == im->lines || l[-1].kind != IMPORT_HEAP) {
		ret = do_ioctl(im->fd, SHADOW_MM_BRK, &b);
		if (!ret && b.out_brk != b.brk)
			ret = -ENOMEM;
		if (ret) {
			err("import: %s:%d: brk to 0x%llx: %s (%s)", im->maps,
			    l->line, (unsigned long long)b.brk,
			    strerror(-ret), errno_name(-ret));
			return ret;
		}
	}
	if (!strcmp(l->perms, "rw-p"))
		return 0;
	mp.addr = l->start;
	mp.len = l->end - l->start;
	mp.prot = prot_of(l->perms);
	ret = do_ioctl(im->fd, SHADOW_MM_MPROTECT, &mp);
	if (ret)
		err("import: %s:%d: mprotect: %s (%s)", im->maps, l->line,
		    strerror(-ret), errno_name(-ret));
	return ret;
}

/*
 * What exec maps and mmap(2) cannot: [vdso] and [vvar] as map_vdso()
 * installs them, [stack] as setup_arg_pages() leaves it (no VM_SOFTDIRTY),
 * with start_stack from the stat file when it lies in the line, else at
 * its end. 0 or -errno (reported).
 */
static int import_exec_mapping(struct import *im, struct maps_line *l)
{
	struct shadow_mm_mmap m = {
		.size = sizeof(m), .addr = l->start, .len = l->end - l->start,
	};
	int ret;

	if (l->kind == IMPORT_VDSO) {
		m.flags = SHADOW_MMAP_VDSO;
	} else if (l->kind == IMPORT_VVAR) {
		m.flags = SHADOW_MMAP_VVAR;
	} else {
		m.flags = SHADOW_MMAP_STACK;
		m.prot = prot_of(l->perms);
		if (im->start_stack < l->start || im->start_stack > l->end)
			im->start_stack = l->end;
		m.start_stack = im->start_stack;
	}
	ret = do_ioctl(im->fd, SHADOW_MM_MMAP, &m);
	if (ret)
		err("import: %s:%d: mmap %s: %s (%s)", im->maps, l->line,
		    l->name, strerror(-ret), errno_name(-ret));
	return ret;
}

/*
 * The bounds exec sets and maps does not show, as prctl(PR_SET_MM_MAP)
 * sets them: code, data, brk, stack, arguments and environment, from the
 * stat file (brk from the address space; arg and env at start_stack when
 * the stat file has none). Without them (a stat file read without
 * ptrace access holds zeros) they are left unset, and said so.
 */
static void import_mm_map(struct import *im)
{
	struct shadow_mm_set_mm_map map = {
		.size = sizeof(map),
		.start_code = im->start_code, .end_code = im->end_code,
		.start_data = im->start_data, .end_data = im->end_data,
		.start_brk = im->start_brk, .start_stack = im->start_stack,
		.arg_start = im->arg_start, .arg_end = im->arg_end,
		.env_start = im->env_start, .env_end = im->env_end,
	};
	struct shadow_mm_brk b = { .size = sizeof(b) };
	int ret;

	if (!im->start_code || !im->start_stack || !im->start_brk) {
		printf("# not reproduced: %s: the stat file has none (%s)\n",
		       "start_code, end_code, start_data, end_data, start_stack",
		       "read without ptrace access?");
		return;
	}
	if (!map.arg_start || !map.env_end) {
		map.arg_start = im->start_stack;
		map.arg_end = im->start_stack;
		map.env_start = im->start_stack;
		map.env_end = im->start_stack;
	}
	ret = do_ioctl(im->fd, SHADOW_MM_BRK, &b);
	map.brk = b.out_brk;
	if (!ret)
		ret = do_ioctl(im->fd, SHADOW_MM_SET_MM_MAP, &map);
	if (ret) {
		printf("# not reproduced: %s %llx-%llx, data %llx-%llx: SHADOW_MM_SET_MM_MAP: %s\n",
		       "code", (unsigned long long)map.start_code,
		       (unsigned long long)map.end_code,
		       (unsigned long long)map.start_data,
		       (unsigned long long)map.end_data, errno_name(-ret));
	}
}

/* Build one line in the new address space: 0 or -errno (reported). */
static int import_line(struct import *im, struct maps_line *l)
{
	struct shadow_mm_mmap m = {
		.size = sizeof(m), .addr = l->start, .len = l->end - l->start,
		.prot = prot_of(l->perms), .fd = -1,
		.map_flags = (l->perms[3] == 's' ? MAP_SHARED : MAP_PRIVATE) |
			     MAP_FIXED_NOREPLACE,
	};
	char path[PATH_MAX];
	struct stat st;
	int ret;

	if (l->kind == IMPORT_HEAP)
		return import_heap(im, l);
	if (l->kind == IMPORT_STACK || l->kind == IMPORT_VDSO ||
	    l->kind == IMPORT_VVAR)
		return import_exec_mapping(im, l);
	if (l->noreserve)
		m.map_flags |= MAP_NORESERVE;
	if (l->kind == IMPORT_FILE) {
		int w = l->perms[1] == 'w' && l->perms[3] == 's';

		snprintf(path, sizeof(path), "%s%s", im->root, l->name);
		m.fd = open(path, (w ? O_RDWR : O_RDONLY) | O_CLOEXEC);
		if (m.fd < 0) {
			ret = -errno;
			err("import: %s:%d: %s: %s", im->maps, l->line, path,
			    strerror(-ret));
			return ret;
		}
		if (fstat(m.fd, &st) || !S_ISREG(st.st_mode)) {
			close(m.fd);
			m.fd = -1;
			l->kind = IMPORT_STANDIN;
			not_reproduced(im, l, "not a regular file: anonymous memory in its place");
		}
		m.offset = l->offset;
	}
	if (l->kind != IMPORT_FILE)
		m.map_flags |= MAP_ANONYMOUS;
	ret = do_ioctl(im->fd, SHADOW_MM_MMAP, &m);
	if (m.fd >= 0)
		close(m.fd);
	if (ret)
		err("import: %s:%d: mmap: %s (%s)", im->maps, l->line,
		    strerror(-ret), errno_name(-ret));
	return ret;
}

/* Does the address space's maps line @sh show @l as the source does? */
static bool same_line(const struct import *im, const struct maps_line *l,
		      const struct maps_line *sh)
{
	size_t root = strlen(im->root);

	if (sh->end != l->end || strcmp(sh->perms, l->perms))
		return false;
	switch (l->kind) {
	case IMPORT_STANDIN:
		return true;
	case IMPORT_BSS:
		/*
		 * As the loaded kernel names it, whatever the source's kernel
		 * did: [heap] before 6.5, unnamed since (vma_is_initial_heap()).
		 */
		return !sh->offset &&
		       (!strcmp(sh->name, "[heap]") || !*sh->name);
	case IMPORT_FILE:
		return sh->offset == l->offset &&
		       !strncmp(sh->name, im->root, root) &&
		       !strcmp(sh->name + root, l->name);
	default:
		return sh->offset == l->offset && !strcmp(sh->name, l->name);
	}
}

static void print_differ(struct import *im, const struct maps_line *l,
			 const char *got)
{
	printf("# differs: %s:%d: %llx-%llx %s %08llx%s%s, got %s\n",
	       im->maps, l->line, (unsigned long long)l->start,
	       (unsigned long long)l->end, l->perms,
	       (unsigned long long)l->offset, *l->name ? " " : "", l->name,
	       got);
	im->differ++;
}

/*
 * The address space's maps against the source's, line by line: each line
 * built must be there with its range, permissions, offset and name (but
 * for a stand-in's name), and nothing else.
 */
static int import_compare(struct import *im)
{
	struct maps_line *sh = NULL;
	char *buf = NULL, *s, *nl;
	int nr = 0, i, j = 0, ret;
	size_t len = 0;

	ret = get_maps(im->fd, &buf, &len);
	if (ret)
		return ret;
	for (s = buf; s && s < buf + len; s = nl + 1) {
		nl = strchr(s, '\n');
		if (nl)
			*nl = '\0';
		sh = grow(sh, nr, sizeof(*sh));
		if (!parse_maps_line(NULL, s, 0, &sh[nr]))
			nr++;
		if (!nl)
			break;
	}
	for (i = 0; i < im->nr; i++) {
		struct maps_line *l = &im->lines[i];
		char got[400];

		if (l->kind == IMPORT_SKIP)
			continue;
		while (j < nr && sh[j].start < l->start)
			j++;
		if (j < nr && sh[j].start == l->start) {
			sh[j].seen = true;
			if (same_line(im, l, &sh[j]))
				continue;
			snprintf(got, sizeof(got), "%llx-%llx %s %08llx%s%s",
				 (unsigned long long)sh[j].start,
				 (unsigned long long)sh[j].end, sh[j].perms,
				 (unsigned long long)sh[j].offset,
				 *sh[j].name ? " " : "", sh[j].name);
			print_differ(im, l, got);
		} else {
			print_differ(im, l, "nothing there");
		}
	}
	for (j = 0; j < nr; j++) {
		if (!sh[j].seen) {
			printf("# differs: the shadow space also maps %llx-%llx %s\n",
			       (unsigned long long)sh[j].start,
			       (unsigned long long)sh[j].end, sh[j].perms);
			im->differ++;
		}
		free(sh[j].name);
	}
	free(sh);
	free(buf);
	return 0;
}

/*
 * Each line's kind, and MAP_NORESERVE on every other one of a run of
 * adjacent lines: without a flag that differs, the engine would merge
 * what the source shows apart (different anon_vmas, say). The heap, made
 * by brk, the bss, made by the ELF loader's brk, and what exec maps have
 * flags of their own: the line before takes the flag (but before a
 * special mapping, which never merges).
 */
static bool flags_fixed(const struct maps_line *l)
{
	return l->kind == IMPORT_HEAP || l->kind == IMPORT_BSS ||
	       l->kind == IMPORT_STACK || l->kind == IMPORT_VDSO ||
	       l->kind == IMPORT_VVAR;
}

static void import_plan(struct import *im)
{
	struct maps_line *heap = NULL;
	int i;

	for (i = 0; i < im->nr; i++) {
		struct maps_line *l = &im->lines[i];
		bool own_flags;

		l->why = classify(l, im->start_brk);
		own_flags = flags_fixed(l);
		if (l->kind == IMPORT_HEAP && !heap)
			heap = l;
		if (i && l[-1].end == l->start && l[-1].kind != IMPORT_SKIP &&
		    !own_flags)
			l->noreserve = !l[-1].noreserve;
		if (own_flags && l->kind != IMPORT_VDSO &&
		    l->kind != IMPORT_VVAR && i && l[-1].end == l->start &&
		    !flags_fixed(&l[-1]))
			l[-1].noreserve = true;
	}
	if (heap && im->start_brk && im->start_brk != heap->start)
		printf("# not reproduced: start_brk %llx: the heap starts at [heap]'s start\n",
		       (unsigned long long)im->start_brk);
	if (heap)
		im->start_brk = heap->start;
}

/*
 * import LABEL PID|FILE: a new address space with the VMAs of a process's
 * maps. Bad input (a malformed line, a missing file) closes the address
 * space again: nothing stays mapped.
 */
static int run_import(struct cmd *c)
{
	struct shadow_mm_create cr = { .size = sizeof(cr) };
	struct shadow_mm_brk b = { .size = sizeof(b),
				   .flags = SHADOW_BRK_SET_START };
	struct label *lb = &cli.labels[c->mm];
	struct import im = { .fd = -1 };
	char maps[PATH_MAX], stat[PATH_MAX];
	const char *src = c->src;
	__u64 base = 0;
	int i, ret;
	bool pid;

	c->reported = true;
	if (c->e[0].nr && eval(&c->e[0], &base))
		return RUN_FATAL;
	snprintf(maps, sizeof(maps), "%s", src);
	stat[0] = '\0';
	pid = src[strspn(src, "0123456789")] == '\0';
	if (pid) {
		snprintf(maps, sizeof(maps), "/proc/%s/maps", src);
		snprintf(stat, sizeof(stat), "/proc/%s/stat", src);
	}
	if (c->stat)
		snprintf(stat, sizeof(stat), "%s", c->stat);
	im.maps = maps;
	if (c->root && !realpath(c->root, im.root)) {
		ret = -errno;
		err("import: root=%s: %s", c->root, strerror(-ret));
		return ret;
	}
	ret = read_maps(&im, maps);
	if (!ret && stat[0])
		ret = read_stat(&im, stat);
	if (ret)
		goto out;
	cr.mmap_base = base;
	cr.flags = c->flags;
	if (pid && proc_layout_is_legacy(src))
		cr.flags = SHADOW_CREATE_LEGACY_LAYOUT;
	im.fd = ioctl(cli.dev, SHADOW_MM_CREATE, &cr);
	if (im.fd < 0) {
		ret = -errno;
		err("import: %s (%s)", strerror(-ret), errno_name(-ret));
		goto out;
	}
	import_plan(&im);
	if (im.start_brk) {
		b.brk = im.start_brk;
		ret = do_ioctl(im.fd, SHADOW_MM_BRK, &b);
		if (ret) {
			err("import: start_brk 0x%llx: %s (%s)",
			    (unsigned long long)im.start_brk, strerror(-ret),
			    errno_name(-ret));
			goto out;
		}
	}
	for (i = 0; !ret && i < im.nr; i++) {
		if (im.lines[i].why)
			not_reproduced(&im, &im.lines[i], im.lines[i].why);
		if (im.lines[i].kind != IMPORT_SKIP)
			ret = import_line(&im, &im.lines[i]);
	}
	if (!ret && stat[0])
		import_mm_map(&im);
	if (!ret)
		ret = import_compare(&im);
	if (ret)
		goto out;
	lb->fd = im.fd;
	im.fd = -1;
	snprintf(cli.root, sizeof(cli.root), "%s", im.root);
	printf("%s%s: id %u, %d lines of %s: %d as in its maps, %d not reproduced\n",
	       cli.replay ? "# " : "", lb->name, cr.out_id, im.nr, maps,
	       im.nr - im.not_reproduced - im.differ, im.not_reproduced);
	if (im.differ) {
		err("import: %d line%s differ%s from %s", im.differ,
		    im.differ == 1 ? "" : "s", im.differ == 1 ? "s" : "",
		    maps);
		ret = RUN_FATAL;
	}
out:
	if (im.fd >= 0)
		close(im.fd);
	for (i = 0; i < im.nr; i++)
		free(im.lines[i].name);
	free(im.lines);
	fflush(stdout);
	return ret;
}

static int run_help(struct cmd *c);

static int run_quit(struct cmd *c)
{
	return 0;
}

static const struct cmd_type cmd_types[] = {
	{ "create", "create LABEL [mmap_base=ADDR] [legacy]",
	  parse_create, run_create, SHADOW_MM_CMD_CREATE,
	  "SHADOW_MM_CREATE", true, true, false },
	{ "mmap",
	  "mmap LABEL ADDR|- LEN PROT FLAGS [offset=N] [file=PATH [root=DIR]] [as=NAME]",
	  parse_mmap, run_mmap, SHADOW_MM_CMD_MMAP,
	  "SHADOW_MM_MMAP", true, true, false },
	{ "munmap", "munmap LABEL ADDR LEN",
	  parse_range_only, run_munmap, SHADOW_MM_CMD_MUNMAP,
	  "SHADOW_MM_MUNMAP", true, true, false },
	{ "mprotect", "mprotect LABEL ADDR LEN PROT",
	  parse_mprotect, run_mprotect, SHADOW_MM_CMD_MPROTECT,
	  "SHADOW_MM_MPROTECT", true, true, false },
	{ "madvise", "madvise LABEL ADDR LEN ADVICE",
	  parse_madvise, run_madvise, SHADOW_MM_CMD_MADVISE,
	  "SHADOW_MM_MADVISE", true, true, false },
	{ "mremap",
	  "mremap LABEL OLD OLDLEN NEWLEN [maymove|fixed|dontunmap] [to=ADDR] [as=NAME]",
	  parse_mremap, run_mremap, SHADOW_MM_CMD_MREMAP,
	  "SHADOW_MM_MREMAP", true, true, false },
	{ "mlock", "mlock LABEL ADDR LEN [onfault]",
	  parse_mlock, run_mlock, SHADOW_MM_CMD_MLOCK,
	  "SHADOW_MM_MLOCK", true, true, false },
	{ "munlock", "munlock LABEL ADDR LEN",
	  parse_range_only, run_munlock, SHADOW_MM_CMD_MUNLOCK,
	  "SHADOW_MM_MUNLOCK", true, true, false },
	{ "mlockall", "mlockall LABEL current|future|onfault...",
	  parse_mlockall, run_mlockall, SHADOW_MM_CMD_MLOCKALL,
	  "SHADOW_MM_MLOCKALL", true, true, false },
	{ "munlockall", "munlockall LABEL",
	  parse_label_only, run_munlockall, SHADOW_MM_CMD_MUNLOCKALL,
	  "SHADOW_MM_MUNLOCKALL", true, true, false },
	{ "brk", "brk LABEL [ADDR | start=ADDR]",
	  parse_brk, run_brk, SHADOW_MM_CMD_BRK,
	  "SHADOW_MM_BRK", true, true, false },
	{ "thp", "thp LABEL [never|madvise|always] [disable=0|1] [zero=0|1]",
	  parse_thp, run_thp, SHADOW_MM_CMD_SET_THP,
	  "SHADOW_MM_SET_THP", true, true, false },
	{ "touch", "touch LABEL ADDR LEN read|write|exec",
	  parse_touch, run_touch, SHADOW_MM_CMD_FAULT,
	  "SHADOW_MM_FAULT", true, true, false },
	{ "write", "write LABEL ADDR \"STRING\"|fill=BYTE len=N [force]",
	  parse_write, run_write, SHADOW_MM_CMD_ACCESS,
	  "SHADOW_MM_ACCESS", true, true, false },
	{ "read", "read LABEL ADDR LEN [text|hex] [force]",
	  parse_read, run_read, SHADOW_MM_CMD_ACCESS,
	  "SHADOW_MM_ACCESS", true, true, true },
	{ "fork", "fork PARENT CHILD [vm|odf]",
	  parse_fork, run_fork, SHADOW_MM_CMD_FORK,
	  "SHADOW_MM_FORK", true, true, false },
	{ "exit", "exit LABEL",
	  parse_label_only, run_exit, SHADOW_MM_CMD_EXIT,
	  "SHADOW_MM_EXIT", true, true, false },
	{ "close", "close LABEL",
	  parse_close, run_close, -1, NULL, true, false, false },
	{ "import",
	  "import LABEL PID|FILE [stat=FILE] [root=DIR] [mmap_base=ADDR] [legacy]",
	  parse_import, run_import, SHADOW_MM_CMD_MMAP,
	  "SHADOW_MM_MMAP", true, true, false },
	{ "maps", "maps LABEL",
	  parse_label_only, run_maps, SHADOW_MM_CMD_GET_MAPS,
	  "SHADOW_MM_GET_MAPS", true, true, true },
	{ "vmas", "vmas LABEL [START END]",
	  parse_vmas, run_vmas, SHADOW_MM_CMD_GET_VMAS,
	  "SHADOW_MM_GET_VMAS", true, true, true },
	{ "walk", "walk LABEL ADDR NPAGES",
	  parse_walk, run_walk, SHADOW_MM_CMD_WALK,
	  "SHADOW_MM_WALK", true, true, true },
	{ "stats", "stats LABEL",
	  parse_label_only, run_stats, SHADOW_MM_CMD_GET_STATS,
	  "SHADOW_MM_GET_STATS", true, true, true },
	{ "counters", "counters",
	  parse_none, run_counters, -1, NULL, false, true, true },
	{ "echo", "echo [TEXT...]",
	  parse_echo, run_echo, -1, NULL, false, false, true },
	{ "sleep", "sleep MS",
	  parse_sleep, run_sleep, -1, NULL, false, false, true },
	{ "help", "help",
	  parse_none, run_help, -1, NULL, false, false, true },
	{ "quit", "quit",
	  parse_none, run_quit, -1, NULL, false, false, true },
	{ }
};

static int run_help(struct cmd *c)
{
	const struct cmd_type *t;

	puts("Commands (a line may start with \"! ERRNO\": it must fail so):");
	for (t = cmd_types; t->name; t++)
		printf("  %s\n", t->usage);
	puts("ADDR, LEN: 0x1000, 4096, 4k, 1p (pages), $var, $var+0x1000");
	puts("PROT: rw-, r-x, ---;  FLAGS: private|anonymous, shared|anonymous|fixed...");
	return 0;
}

/* --- lines ----------------------------------------------------------------- */

/*
 * Parse one line into @c: 1 when it holds a command, 0 when blank or a
 * comment, -1 (reported) when malformed.
 */
static int parse_line(const char *line, struct cmd *c)
{
	size_t len = strlen(line), start, end;
	char *buf = malloc(len + 1);
	struct token tok[MAX_TOKENS];
	struct parser p = { };
	int n, i = 0, ret = -1;

	if (!buf)
		return -1;
	memset(c, 0, sizeof(*c));
	c->line = cli.line;
	c->var = -1;
	n = tokenize(line, buf, tok, &start, &end);
	if (n <= 0) {
		ret = n;
		goto out;
	}
	if (tok[0].len == 1 && tok[0].s[0] == '!' && !tok[0].quoted) {
		if (n < 3) {
			err("expected '! ERRNO COMMAND ...'");
			goto out;
		}
		c->expect = tok[1].quoted ? 0 : errno_from_name(tok[1].s);
		if (!c->expect) {
			err("expected an errno name like ENOMEM after '!', got '%.*s'",
			    (int)tok[1].len, tok[1].s);
			goto out;
		}
		i = 2;
	}
	for (c->type = cmd_types; c->type->name; c->type++)
		if (!tok[i].quoted && !strcmp(c->type->name, tok[i].s))
			break;
	if (!c->type->name) {
		err("unknown command '%.*s' (try help)", (int)tok[i].len,
		    tok[i].s);
		goto out;
	}
	p.cmd = c->type->name;
	if (c->expect && !c->type->may_fail) {
		err("%s: cannot be expected to fail", p.cmd);
		goto out;
	}
	for (i++; i < n; i++) {
		if (c->type->parse != parse_echo && is_option(&tok[i]))
			p.opt[p.nopt++] = tok[i];
		else
			p.pos[p.npos++] = tok[i];
	}
	if (c->type->parse(&p, c))
		goto out;
	for (i = 0; i < p.nopt; i++) {
		if (!p.opt_used[i]) {
			const char *eq = memchr(p.opt[i].s, '=', p.opt[i].len);

			err("%s: unknown option '%.*s='; usage: %s", p.cmd,
			    (int)(eq - p.opt[i].s), p.opt[i].s,
			    c->type->usage);
			goto out;
		}
	}
	c->text = strndup(line + start, end - start);
	ret = c->text ? 1 : -1;
out:
	free(buf);
	return ret;
}

static int open_dev(void)
{
	struct shadow_mm_api api = { .size = sizeof(api) };
	int ret;

	cli.dev = open(SHADOW_DEV, O_RDWR | O_CLOEXEC);
	if (cli.dev < 0) {
		err("%s: %s (%s)", SHADOW_DEV, strerror(errno),
		    errno_name(errno));
		return -1;
	}
	ret = do_ioctl(cli.dev, SHADOW_MM_API, &api);
	if (ret) {
		err("SHADOW_MM_API: %s (%s)", strerror(-ret),
		    errno_name(-ret));
		close(cli.dev);
		cli.dev = -1;
		return -1;
	}
	cli.ioctls = api.out_ioctls;
	return 0;
}

/*
 * -r: the one result line of a call, "ok", "ok ADDR" or "err ENAME"
 * ("fail" when it could not run, a "! ERRNO" not met noted after it); a
 * query prints only a failure. A line that could not replay sets the
 * exit status, but the next one runs.
 */
static int replay_result(struct cmd *c, int ret)
{
	if (ret == RUN_FATAL) {
		puts("fail");
	} else if (ret) {
		printf("err %s", errno_name(-ret));
	} else if (!c->type->query || c->expect) {
		fputs("ok", stdout);
		if (c->has_result)
			printf(" 0x%llx", (unsigned long long)c->result);
	}
	if (ret != RUN_FATAL && c->expect && ret != -c->expect)
		printf(" (expected %s)", errno_name(c->expect));
	if (ret != RUN_FATAL && (ret || !c->type->query || c->expect))
		putchar('\n');
	if (ret == RUN_FATAL || (c->expect && ret != -c->expect) ||
	    (ret && c->reported))
		cli.replay_status = EXIT_FAILED;
	fflush(stdout);
	return 0;
}

/* Judge a command's result @ret as the script expects it. */
static int finish_line(struct cmd *c, int ret)
{
	const struct cmd_type *t = c->type;
	const char *name = t->name;
	int made = t->run == run_fork ? c->mm2 : c->mm;

	fflush(stdout);
	/* A label whose address space was not made can be made again. */
	if (ret && (t->run == run_create || t->run == run_fork ||
		    t->run == run_import) && cli.labels[made].fd < 0)
		cli.labels[made].declared = false;
	if (cli.replay)
		return replay_result(c, ret);
	if (ret == RUN_FATAL || (ret && c->reported && !c->expect))
		return EXIT_FAILED;
	if (c->expect && ret == -c->expect) {
		printf("%s: %s (%s)%s, as expected\n", name, strerror(-ret),
		       errno_name(-ret), c->detail);
		fflush(stdout);
		return 0;
	}
	if (c->expect && !ret) {
		err("%s: succeeded, expected %s", name,
		    errno_name(c->expect));
		return EXIT_FAILED;
	}
	if (c->expect) {
		err("%s: %s (%s)%s, expected %s", name, strerror(-ret),
		    errno_name(-ret), c->detail, errno_name(c->expect));
		return EXIT_FAILED;
	}
	if (!ret)
		return 0;
	if (ret == -ENOTTY && t->ioctl_nr >= 0 &&
	    !(cli.ioctls & (1ULL << t->ioctl_nr)))
		err("%s: %s (%s): this shadow_mm module does not implement %s yet",
		    name, strerror(-ret), errno_name(-ret), t->ioctl_name);
	else
		err("%s: %s (%s)%s", name, strerror(-ret), errno_name(-ret),
		    c->detail);
	return EXIT_FAILED;
}

/* Echo a line (-x) and clear its error detail, before it runs. */
static void start_line(struct cmd *c)
{
	cli.line = c->line;
	if (cli.trace) {
		printf("+ %s\n", c->text);
		fflush(stdout);
	}
	c->detail[0] = '\0';
}

static int run_line(struct cmd *c)
{
	start_line(c);
	if (c->type->needs_dev && cli.dev < 0 && open_dev())
		return EXIT_FAILED;
	return finish_line(c, c->type->run(c));
}

/* --- batches (-b) ---------------------------------------------------------- */

#define MAX_BATCH	64

/*
 * Can @c join a batch on @label? Its values must be known now: no
 * $variable unset, none set by an mmap earlier in the batch (@set).
 */
static bool batchable(struct cmd *c, int label, const bool *set)
{
	int i, j;

	if (c->type->run != run_mmap && c->type->run != run_munmap &&
	    c->type->run != run_mprotect && c->type->run != run_madvise &&
	    c->type->run != run_touch)
		return false;
	if (c->mm != label || cli.labels[label].fd < 0 || c->src)
		return false;
	for (i = 0; i < 3; i++)
		for (j = 0; j < c->e[i].nr; j++) {
			int v = c->e[i].t[j].var;

			if (v >= 0 && (!cli.vars[v].set || set[v]))
				return false;
		}
	return true;
}

static void batch_op(struct cmd *c, struct shadow_mm_batch_op *op)
{
	static const unsigned int kinds[] = {
		0, SHADOW_FAULT_WRITE, SHADOW_FAULT_EXEC,
	};
	__u64 v[3] = { 0, 0, 0 };

	eval_args(c, 3, v);
	memset(op, 0, sizeof(*op));
	op->addr = v[0];
	op->len = v[1];
	if (c->type->run == run_mmap) {
		op->op = SHADOW_BATCH_MMAP;
		op->prot = c->prot;
		op->map_flags = c->flags;
	} else if (c->type->run == run_munmap) {
		op->op = SHADOW_BATCH_MUNMAP;
	} else if (c->type->run == run_mprotect) {
		op->op = SHADOW_BATCH_MPROTECT;
		op->prot = c->prot;
	} else if (c->type->run == run_madvise) {
		op->op = SHADOW_BATCH_MADVISE;
		op->advice = (int)c->flags;
	} else {
		op->op = SHADOW_BATCH_FAULT;
		op->flags = kinds[c->mode];
	}
}

/* An operation's result, printed as its own command prints it. */
static int batch_result(struct cmd *c, struct shadow_mm_batch_op *op)
{
	const char *label = cli.labels[c->mm].name;
	__u64 pages;

	if (op->op == SHADOW_BATCH_FAULT) {
		pages = (op->out_addr - (op->addr & ~(PAGE - 1))) / PAGE;
		if (op->out_result < 0) {
			snprintf(c->detail, sizeof(c->detail),
				 " after %llu page%s",
				 (unsigned long long)pages,
				 pages == 1 ? "" : "s");
			return op->out_result;
		}
		if (!cli.replay)
			printf("%s: touched %llu page%s\n", label,
			       (unsigned long long)pages,
			       pages == 1 ? "" : "s");
		return 0;
	}
	if (op->out_result < 0)
		return op->out_result;
	if (op->op == SHADOW_BATCH_MMAP) {
		set_var(c, op->out_addr);
		print_range(label, "mapped", op->out_addr, op->len, c);
	}
	return 0;
}

/*
 * Run what can be batched from @cmds (at most @max lines) as one
 * SHADOW_MM_BATCH: the lines it consumed (0: none, run the first alone),
 * the script's status in *@status.
 */
static int run_batch(struct cmd *cmds, int max, int *status)
{
	struct shadow_mm_batch_op ops[MAX_BATCH];
	int label = cmds[0].mm, n = 0, i;
	bool *set = calloc(cli.nr_vars + 1, sizeof(*set));
	__u32 done = 0;

	*status = 0;
	while (n < max && n < MAX_BATCH &&
	       batchable(&cmds[n], label, set)) {
		batch_op(&cmds[n], &ops[n]);
		if (cmds[n].type->run == run_mmap) {
			__u64 off = 0;

			if (cmds[n].e[2].nr && (eval(&cmds[n].e[2], &off), off))
				break;	/* an offset: not in a batch */
			if (cmds[n].var >= 0)
				set[cmds[n].var] = true;
		}
		n++;
	}
	free(set);
	if (n < 2)
		return 0;
	if (_shadow_batch(cli.labels[label].fd, 0, ops, n, &done))
		return 0;	/* no batches here: line by line */
	for (i = 0; i < (int)done && !*status; i++) {
		start_line(&cmds[i]);
		*status = finish_line(&cmds[i],
				      batch_result(&cmds[i], &ops[i]));
	}
	return i;
}

static void free_cmd(struct cmd *c)
{
	free(c->text);
	free(c->data);
	free(c->src);
	free(c->stat);
	free(c->root);
}

/* Parse all of @f, then run it: the exit status. */
static int run_script(FILE *f, bool parse_only)
{
	struct cmd *cmds = NULL;
	int nr = 0, i, ret = 0;
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;

	for (cli.line = 1; (len = getline(&line, &cap, f)) >= 0; cli.line++) {
		while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			line[--len] = '\0';
		if (strlen(line) != (size_t)len) {
			err("a NUL byte in the script");
			ret = EXIT_SYNTAX;
			break;
		}
		cmds = grow(cmds, nr, sizeof(*cmds));
		ret = parse_line(line, &cmds[nr]);
		if (ret < 0) {
			ret = EXIT_SYNTAX;
			break;
		}
		if (ret > 0 && cmds[nr].type->run == run_quit) {
			free_cmd(&cmds[nr]);
			ret = 0;
			break;
		}
		nr += ret;
		ret = 0;
	}
	free(line);
	if (ferror(f)) {
		err("reading the script: %s", strerror(errno));
		ret = EXIT_SYNTAX;
	}
	for (i = 0; !ret && !parse_only && i < nr; ) {
		int n = cli.batch ? run_batch(&cmds[i], nr - i, &ret) : 0;

		if (n) {
			i += n;
			continue;
		}
		ret = run_line(&cmds[i++]);
	}
	for (i = 0; i < nr; i++)
		free_cmd(&cmds[i]);
	free(cmds);
	return ret;
}

/* The prompt: each line parsed and run at once; errors do not stop it. */
static int interact(void)
{
	char *line = NULL;
	size_t cap = 0;
	struct cmd c;
	int ret;

	for (cli.line = 1;; cli.line++) {
		fputs("shadow_mm> ", stdout);
		fflush(stdout);
		if (getline(&line, &cap, stdin) < 0) {
			putchar('\n');
			break;
		}
		line[strcspn(line, "\r\n")] = '\0';
		ret = parse_line(line, &c);
		if (ret > 0 && c.type->run == run_quit) {
			free_cmd(&c);
			break;
		}
		if (ret > 0)
			run_line(&c);
		if (ret > 0)
			free_cmd(&c);
	}
	free(line);
	return 0;
}

static void print_usage(void)
{
	fputs("usage: shadow_mm_cli [-x] [-n] [-b] [-r] [SCRIPT | -]\n"
	      "  -x  echo each command before its output\n"
	      "  -n  check the script's syntax, run nothing\n"
	      "  -b  send runs of mmap, munmap, mprotect, madvise and touch\n"
	      "      lines as one batch (SHADOW_MM_BATCH)\n"
	      "  -r, --replay  run every line whatever its result; print each\n"
	      "      call's as \"ok\", \"ok ADDR\" or \"err ENAME\"\n"
	      "With no SCRIPT and a terminal on stdin: a prompt (try help).\n",
	      stderr);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "replay", no_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ }
	};
	bool parse_only = false;
	const char *path = NULL;
	FILE *f = stdin;
	int opt, ret;

	opterr = 0;
	while ((opt = getopt_long(argc, argv, "+xnbrh", longopts, NULL)) != -1) {
		switch (opt) {
		case 'x':
			cli.trace = true;
			break;
		case 'n':
			parse_only = true;
			break;
		case 'b':
			cli.batch = true;
			break;
		case 'r':
			cli.replay = true;
			break;
		case 'h':
			print_usage();
			return 0;
		default:
			print_usage();
			return EXIT_SYNTAX;
		}
	}
	if (optind < argc - 1) {
		print_usage();
		return EXIT_SYNTAX;
	}
	if (optind < argc)
		path = argv[optind];
	if (!path && isatty(STDIN_FILENO) && !parse_only) {
		cli.script = "<stdin>";
		return interact();
	}
	if (!path || !strcmp(path, "-")) {
		cli.script = "<stdin>";
	} else {
		cli.script = path;
		f = fopen(path, "r");
		if (!f) {
			fprintf(stderr, "shadow_mm_cli: %s: %s\n", path,
				strerror(errno));
			return EXIT_SYNTAX;
		}
	}
	ret = run_script(f, parse_only);
	if (f != stdin)
		fclose(f);
	fflush(stdout);
	return ret ? ret : cli.replay_status;
}
