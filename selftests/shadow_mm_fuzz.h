/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers the fuzz and stress selftests share: a seeded random number
 * generator, time bounds taken from the environment, sets of errnos, and
 * the test for a value that looks like a kernel address. Include after
 * kselftest_harness.h.
 */
#ifndef _SHADOW_MM_FUZZ_H
#define _SHADOW_MM_FUZZ_H

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <linux/types.h>

/* xorshift64*: small, fast, and the same sequence for the same seed. */
struct rng {
	__u64 s;
};

static inline void rng_seed(struct rng *r, __u64 seed)
{
	/* splitmix64 spreads nearby seeds apart; the state must not be 0. */
	__u64 z = seed + 0x9e3779b97f4a7c15ULL;

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	z ^= z >> 31;
	r->s = z ? z : 1;
}

static inline __u64 rnd(struct rng *r)
{
	r->s ^= r->s >> 12;
	r->s ^= r->s << 25;
	r->s ^= r->s >> 27;
	return r->s * 0x2545f4914f6cdd1dULL;
}

/* A number in [0, n), or 0 when n is 0. */
static inline __u64 rnd_below(struct rng *r, __u64 n)
{
	return n ? rnd(r) % n : 0;
}

static inline bool one_in(struct rng *r, __u64 n)
{
	return rnd_below(r, n) == 0;
}

/* A random index of array @arr: arr[RND_IDX(r, arr)]. */
#define RND_IDX(r, arr)		rnd_below(r, ARRAY_SIZE(arr))

/* A number from the environment; @def when unset or not a number. */
static inline __u64 env_u64(const char *name, __u64 def)
{
	const char *s = getenv(name);
	char *end;
	__u64 v;

	if (!s || !*s)
		return def;
	errno = 0;
	v = strtoull(s, &end, 0);
	return errno || *end ? def : v;
}

/* The seed: @name from the environment, else one from the clock. */
static inline __u64 env_seed(const char *name)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return env_u64(name, ((__u64)ts.tv_sec * 1000003ULL) ^
			     (__u64)ts.tv_nsec ^ ((__u64)getpid() << 40));
}

/* Seconds on the monotonic clock. */
static inline double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* A set of errnos below 128 (an __uint128_t): bit e stands for errno e. */
#define ES(e)	((__uint128_t)1 << (e))

static inline bool eset_has(__uint128_t set, int err)
{
	return err > 0 && err < 128 && ((set >> err) & 1);
}

/* The errno's name ("ENOMEM"), or its number; "0" for success. */
static inline const char *errname(int err, char *buf, size_t len)
{
	const char *name = err ? strerrorname_np(err) : "0";

	if (name)
		return name;
	snprintf(buf, len, "errno %d", err);
	return buf;
}

/* "{EINVAL,ENOMEM}" */
static inline const char *eset_str(__uint128_t set, char *buf, size_t len)
{
	size_t n = 0;
	int e;

	n += snprintf(buf + n, len - n, "{");
	for (e = 1; e < 128 && n < len; e++) {
		char tmp[24];

		if (eset_has(set, e))
			n += snprintf(buf + n, len - n, "%s%s",
				      n > 1 ? "," : "",
				      errname(e, tmp, sizeof(tmp)));
	}
	if (n < len)
		snprintf(buf + n, len - n, "}");
	return buf;
}

/*
 * A kernel address on x86-64 (0xffff800000000000 and up): the top 16 bits
 * all set. Nothing the module hands to user space may look like one.
 */
static inline bool looks_kernel(__u64 v)
{
	return (v >> 48) == 0xffff;
}

/* The first 64-bit word of @p[0..@len) that looks like one, or -1. */
static inline long find_kernel_word(const void *p, size_t len)
{
	size_t i;

	for (i = 0; i + 8 <= len; i += 8) {
		__u64 v;

		memcpy(&v, (const char *)p + i, 8);
		if (looks_kernel(v))
			return i;
	}
	return -1;
}

/*
 * The first number in @text that could be a kernel address: a run of 16
 * hex digits (with or without 0x) or of 19 or more decimal digits whose
 * value has the top 16 bits set. Its offset, or -1.
 */
static inline long find_kernel_text(const char *text, size_t len)
{
	size_t i = 0;

	while (i < len) {
		size_t start = i, hex = 0, dec = 0;
		char tok[48];

		if (!isxdigit((unsigned char)text[i])) {
			i++;
			continue;
		}
		if (text[i] == '0' && i + 1 < len &&
		    (text[i + 1] == 'x' || text[i + 1] == 'X'))
			start = i += 2;
		while (i < len && isxdigit((unsigned char)text[i])) {
			hex++;
			dec += isdigit((unsigned char)text[i]) ? 1 : 0;
			i++;
		}
		if (hex >= sizeof(tok))
			return start;	/* too long to be anything honest */
		memcpy(tok, text + start, hex);
		tok[hex] = 0;
		if (hex == 16 && looks_kernel(strtoull(tok, NULL, 16)))
			return start;
		if (dec == hex && dec >= 19) {
			errno = 0;
			if (looks_kernel(strtoull(tok, NULL, 10)) || errno)
				return start;
		}
	}
	return -1;
}

#endif /* _SHADOW_MM_FUZZ_H */
