// SPDX-License-Identifier: GPL-2.0
/*
 * SHADOW_MM_BATCH: a sequence run as one batch gives, op by op, the results
 * the single commands give on the same sequence (and the same layout,
 * contents and counters); stop at the first error or continue past it;
 * bad input refused.
 */
#include "kselftest_harness.h"
#include "shadow_mm_test.h"

#define B(pg)	(BASE + (unsigned long)(pg) * PAGE)
/* out_result of an operation that did not run. */
#define UNTOUCHED	0x5a5a5a5aL

FIXTURE(batch) {
	int dev;
	struct shadow_counts before;
};

FIXTURE_SETUP(batch)
{
	self->dev = shadow_open_dev();
	ASSERT_LE(0, self->dev);
	ASSERT_TRUE(shadow_features(self->dev) & SHADOW_MM_FEATURE_BATCH);
	self->before = shadow_counts();
}

FIXTURE_TEARDOWN(batch)
{
	/* Every address space closed: nothing left behind. */
	shadow_expect_counts(_metadata, self->before);
	close(self->dev);
}

/* The maps without the shared objects' inode numbers, which differ. */
static char *layout(int mfd)
{
	char *maps = shadow_get_maps(mfd), *p;

	for (p = maps; p && (p = strstr(p, " 00:01 ")); p += 7)
		for (char *d = p + 7; *d >= '0' && *d <= '9'; d++)
			*d = '0';
	return maps;
}

/* The same operation through its own command: out_result and out_addr. */
static long run_single(int mfd, struct shadow_mm_batch_op *op)
{
	__u64 out = 0;
	long ret;

	op->out_addr = 0;
	switch (op->op) {
	case SHADOW_BATCH_MMAP:
		ret = _shadow_mmap(mfd, op->addr, op->len, op->prot,
				   op->map_flags, &out);
		op->out_addr = ret ? 0 : out;
		return ret;
	case SHADOW_BATCH_MUNMAP:
		return _shadow_munmap(mfd, op->addr, op->len);
	case SHADOW_BATCH_MPROTECT:
		return _shadow_mprotect(mfd, op->addr, op->len, op->prot);
	case SHADOW_BATCH_MADVISE:
		return _shadow_madvise(mfd, op->addr, op->len, op->advice);
	case SHADOW_BATCH_FAULT:
		ret = _shadow_fault(mfd, op->addr, op->len, op->flags, &out);
		op->out_addr = (op->addr & ~(PAGE - 1)) + out * PAGE;
		return ret ? ret : (long)out;
	case SHADOW_BATCH_READ:
		return _shadow_access(mfd, op->addr, (void *)(uintptr_t)op->buf,
				      op->len, op->flags);
	case SHADOW_BATCH_WRITE:
		return _shadow_access(mfd, op->addr, (void *)(uintptr_t)op->buf,
				      op->len, op->flags | SHADOW_ACCESS_WRITE);
	}
	return -EINVAL;
}

/*
 * A sequence with something of everything, errors included: run as one
 * batch (continuing past errors) in one space and op by op in another,
 * the results, layout, contents and counters must agree.
 */
TEST_F(batch, same_as_single_commands)
{
	static char wbuf[3 * PAGE], rbuf_a[64], rbuf_b[64];
	struct shadow_mm_batch_op ops[] = {
		BATCH_MMAP(B(0), 16 * PAGE, RW, PRIV | FIXED),
		BATCH_MMAP(0, 4 * PAGE, PROT_READ, PRIV),
		BATCH_MMAP(B(32), 4 * PAGE, RW, SHARED | FIXED),
		BATCH_WRITE(B(1), sizeof(wbuf), wbuf),
		BATCH_FAULT(B(6), 3 * PAGE, SHADOW_FAULT_WRITE),
		BATCH_FAULT(B(10), 1, 0),
		BATCH_MPROTECT(B(2), 2 * PAGE, PROT_READ),
		BATCH_WRITE(B(2), 8, wbuf),		/* read-only now */
		BATCH_FAULT(B(2), PAGE, SHADOW_FAULT_WRITE),	/* -EFAULT */
		BATCH_MADVISE(B(6), PAGE, MADV_DONTNEED),
		BATCH_MADVISE(B(12), PAGE, MADV_DONTFORK),
		BATCH_MUNMAP(B(8), 2 * PAGE),
		BATCH_MUNMAP(B(3) + 1, PAGE),		/* -EINVAL */
		BATCH_MPROTECT(B(7), 4 * PAGE, RW),	/* hole: -ENOMEM */
		BATCH_MMAP(B(20), 0, RW, PRIV | FIXED),	/* -EINVAL */
		BATCH_MMAP(B(40), PAGE, RW, MAP_PRIVATE | FIXED), /* -EBADF */
		BATCH_WRITE(B(33), 5, "hello"),
		BATCH_READ(B(33), 5, rbuf_a),
		BATCH_READ(B(1) + PAGE - 8, 24, rbuf_a + 8),
		BATCH_READ(B(16) - 4, 16, rbuf_a + 32),	/* partial: 4 */
		BATCH_FAULT(B(14), 4 * PAGE, 0),	/* partial: -EFAULT */
		BATCH_MADVISE(B(0), 16 * PAGE, MADV_WILLNEED), /* hole */
	};
	enum { N = ARRAY_SIZE(ops) };
	struct shadow_mm_batch_op single[N];
	struct shadow_mm_stats sa, sb;
	int a, b, i, neg = 0;
	char *ma, *mb;
	__u32 done;

	for (i = 0; i < (int)sizeof(wbuf); i++)
		wbuf[i] = 'a' + i % 26;
	a = _shadow_create(self->dev, 0, NULL);
	b = _shadow_create(self->dev, 0, NULL);
	ASSERT_LE(0, a);
	ASSERT_LE(0, b);

	memcpy(single, ops, sizeof(ops));
	for (i = 0; i < N; i++) {
		ops[i].out_result = UNTOUCHED;
		ops[i].out_addr = UNTOUCHED;
	}
	ASSERT_EQ(0, _shadow_batch(a, SHADOW_BATCH_CONTINUE, ops, N, &done));
	ASSERT_EQ(N, done);

	for (i = 0; i < N; i++) {
		/* The single reads land in their own buffer. */
		if (single[i].op == SHADOW_BATCH_READ)
			single[i].buf += rbuf_b - rbuf_a;
		single[i].out_result = run_single(b, &single[i]);
		EXPECT_EQ(single[i].out_result, ops[i].out_result) {
			TH_LOG("op %d (%u): batch %lld, single %lld", i,
			       ops[i].op, (long long)ops[i].out_result,
			       (long long)single[i].out_result);
		}
		EXPECT_EQ(single[i].out_addr, ops[i].out_addr) {
			TH_LOG("op %d: out_addr", i);
		}
		neg += ops[i].out_result < 0;
	}
	EXPECT_EQ(8, neg);
	EXPECT_EQ(-EFAULT, ops[7].out_result);
	EXPECT_EQ(-EFAULT, ops[8].out_result);
	EXPECT_EQ(-EINVAL, ops[12].out_result);
	EXPECT_EQ(-ENOMEM, ops[13].out_result);
	EXPECT_EQ(-EBADF, ops[15].out_result);
	EXPECT_EQ(4, ops[19].out_result);
	EXPECT_EQ(-EFAULT, ops[20].out_result);
	EXPECT_EQ(B(16), ops[20].out_addr);
	EXPECT_EQ(-ENOMEM, ops[21].out_result);
	EXPECT_EQ(0, memcmp(rbuf_a, rbuf_b, sizeof(rbuf_a)));
	EXPECT_EQ(0, memcmp("hello", rbuf_a, 5));

	ma = layout(a);
	mb = layout(b);
	ASSERT_NE(NULL, ma);
	ASSERT_NE(NULL, mb);
	EXPECT_STREQ(mb, ma);
	free(ma);
	free(mb);
	sa = shadow_stats(_metadata, a);
	sb = shadow_stats(_metadata, b);
	EXPECT_EQ(sb.out_map_count, sa.out_map_count);
	EXPECT_EQ(sb.out_total_vm, sa.out_total_vm);
	EXPECT_EQ(sb.out_rss_anon, sa.out_rss_anon);
	EXPECT_EQ(sb.out_rss_shmem, sa.out_rss_shmem);
	EXPECT_EQ(sb.out_nr_ptes, sa.out_nr_ptes);
	EXPECT_EQ(sb.out_cow_copies, sa.out_cow_copies);
	close(a);
	close(b);
}

/* By default the batch stops after the first operation that fails. */
TEST_F(batch, stop_at_first_error)
{
	struct shadow_mm_batch_op ops[] = {
		BATCH_MMAP(B(0), PAGE, RW, PRIV | FIXED),
		BATCH_MUNMAP(B(0) + 1, PAGE),
		BATCH_MMAP(B(4), PAGE, RW, PRIV | FIXED),
	};
	int mfd = _shadow_create(self->dev, 0, NULL);
	__u32 done = 99;

	ASSERT_LE(0, mfd);
	ops[2].out_result = UNTOUCHED;
	ASSERT_EQ(0, _shadow_batch(mfd, 0, ops, 3, &done));
	EXPECT_EQ(2, done);
	EXPECT_EQ(0, ops[0].out_result);
	EXPECT_EQ(B(0), ops[0].out_addr);
	EXPECT_EQ(-EINVAL, ops[1].out_result);
	EXPECT_EQ(UNTOUCHED, ops[2].out_result);
	EXPECT_EQ(1, shadow_stats(_metadata, mfd).out_map_count);

	/* Continuing: the third runs too. */
	ops[0] = (struct shadow_mm_batch_op)BATCH_MUNMAP(B(0), PAGE);
	ASSERT_EQ(0, _shadow_batch(mfd, SHADOW_BATCH_CONTINUE, ops, 3,
				   &done));
	EXPECT_EQ(3, done);
	EXPECT_EQ(0, ops[0].out_result);
	EXPECT_EQ(-EINVAL, ops[1].out_result);
	EXPECT_EQ(0, ops[2].out_result);
	EXPECT_EQ(B(4), ops[2].out_addr);
	EXPECT_EQ(1, shadow_stats(_metadata, mfd).out_map_count);
	close(mfd);
}

/*
 * A chunk boundary (the kernel reads 32 operations at a time) and the
 * largest batch: 2048 one-page mmap/munmap pairs.
 */
TEST_F(batch, largest_batch)
{
	enum { N = SHADOW_BATCH_MAX_OPS };
	struct shadow_mm_batch_op *ops = calloc(N, sizeof(*ops));
	int mfd = _shadow_create(self->dev, 0, NULL);
	__u32 done;
	int i;

	ASSERT_NE(NULL, ops);
	ASSERT_LE(0, mfd);
	for (i = 0; i < N; i += 2) {
		ops[i] = (struct shadow_mm_batch_op)
			BATCH_MMAP(B(i), PAGE, RW, PRIV | FIXED);
		ops[i + 1] = (struct shadow_mm_batch_op)BATCH_MUNMAP(B(i), PAGE);
	}
	ASSERT_EQ(0, _shadow_batch(mfd, 0, ops, N, &done));
	EXPECT_EQ(N, done);
	for (i = 0; i < N; i++)
		ASSERT_EQ(0, ops[i].out_result);
	EXPECT_EQ(0, shadow_stats(_metadata, mfd).out_map_count);

	/* One past the chunk: the failure in the second chunk stops it. */
	ops[33] = (struct shadow_mm_batch_op)BATCH_MUNMAP(B(1) + 1, PAGE);
	ops[34].out_result = UNTOUCHED;
	ASSERT_EQ(0, _shadow_batch(mfd, 0, ops, N, &done));
	EXPECT_EQ(34, done);
	EXPECT_EQ(-EINVAL, ops[33].out_result);
	EXPECT_EQ(UNTOUCHED, ops[34].out_result);
	EXPECT_EQ(1, shadow_stats(_metadata,
				  mfd).out_map_count);	/* B(32) */
	free(ops);
	close(mfd);
}

/* The batch itself refused: nothing runs. */
TEST_F(batch, bad_batch)
{
	struct shadow_mm_batch_op op = BATCH_MMAP(B(0), PAGE, RW,
						  PRIV | FIXED);
	struct shadow_mm_batch b = {
		.size = sizeof(b), .nr_ops = 1, .ops = (uintptr_t)&op,
	};
	int mfd = _shadow_create(self->dev, 0, NULL);
	struct shadow_mm_batch_op *ro;
	__u32 done;

	ASSERT_LE(0, mfd);
	EXPECT_EQ(-E2BIG, _shadow_batch(mfd, 0, &op,
					SHADOW_BATCH_MAX_OPS + 1, &done));
	EXPECT_EQ(-EINVAL, _shadow_batch(mfd, 2, &op, 1, &done));
	b.size = 8;	/* shorter than the first version */
	EXPECT_EQ(-EINVAL, shadow_ioctl(mfd, SHADOW_MM_BATCH, &b));
	EXPECT_EQ(-EFAULT, _shadow_batch(mfd, 0, NULL, 1, &done));
	EXPECT_EQ(-EFAULT, shadow_ioctl(mfd, SHADOW_MM_BATCH, (void *)8));
	/* No operations: nothing to do. */
	done = 99;
	EXPECT_EQ(0, _shadow_batch(mfd, 0, NULL, 0, &done));
	EXPECT_EQ(0, done);
	EXPECT_EQ(0, shadow_stats(_metadata, mfd).out_map_count);

	/*
	 * Operations readable but not writable: the first chunk runs, its
	 * results cannot be written back; out_done says it ran.
	 */
	ro = mmap(NULL, PAGE, RW, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, ro);
	ro[0] = op;
	ASSERT_EQ(0, mprotect(ro, PAGE, PROT_READ));
	EXPECT_EQ(-EFAULT, _shadow_batch(mfd, 0, ro, 1, &done));
	EXPECT_EQ(1, done);
	EXPECT_EQ(1, shadow_stats(_metadata, mfd).out_map_count);
	munmap(ro, PAGE);
	close(mfd);
}

/* Operations @op_size bytes apart, in a buffer big enough for @n. */
struct sized_ops {
	char *buf;
	__u32 op_size;
};

static struct shadow_mm_batch_op *sized_op(struct sized_ops *s, int i)
{
	return (struct shadow_mm_batch_op *)(s->buf + (size_t)i * s->op_size);
}

static int sized_batch(int mfd, unsigned int flags, struct sized_ops *s,
		       __u32 nr, __u32 op_size_field, __u32 *done)
{
	struct shadow_mm_batch b = {
		.size = sizeof(b), .flags = flags, .nr_ops = nr,
		.op_size = op_size_field, .ops = (uintptr_t)s->buf,
	};
	int ret = shadow_ioctl(mfd, SHADOW_MM_BATCH, &b);

	*done = b.out_done;
	return ret;
}

/*
 * op_size: 0 and SHADOW_BATCH_OP_SIZE_VER0 are the same; a larger record
 * is read at its stride with its tail zero and written back without
 * touching the tail; a tail not zero fails that operation alone with
 * -E2BIG (not run); a size not a multiple of 8, below the first one or
 * above SHADOW_REC_SIZE_MAX refuses the batch.
 */
TEST_F(batch, op_size)
{
	static const __u32 bad[] = {
		8, SHADOW_BATCH_OP_SIZE_VER0 - 8, SHADOW_BATCH_OP_SIZE_VER0 + 4,
		SHADOW_BATCH_OP_SIZE_VER0 + 1, SHADOW_REC_SIZE_MAX + 8, -8u,
	};
	static const __u32 good[] = {
		0, SHADOW_BATCH_OP_SIZE_VER0, SHADOW_BATCH_OP_SIZE_VER0 + 8,
		SHADOW_REC_SIZE_MAX,
	};
	const struct shadow_mm_batch_op ops[] = {
		BATCH_MMAP(B(0), 2 * PAGE, RW, PRIV | FIXED),
		BATCH_FAULT(B(0), 2 * PAGE, SHADOW_FAULT_WRITE),
		BATCH_MMAP(B(4), PAGE, RW, PRIV | FIXED),
		BATCH_MUNMAP(B(1), PAGE),
	};
	struct sized_ops s;
	unsigned int i, j;
	__u32 done;
	int mfd;

	s.buf = calloc(ARRAY_SIZE(ops), SHADOW_REC_SIZE_MAX);
	ASSERT_NE(NULL, s.buf);
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		mfd = _shadow_create(self->dev, 0, NULL);
		ASSERT_LE(0, mfd);
		s.op_size = SHADOW_BATCH_OP_SIZE_VER0;
		memcpy(s.buf, ops, sizeof(ops));
		EXPECT_EQ(-EINVAL, sized_batch(mfd, 0, &s, ARRAY_SIZE(ops),
					       bad[i], &done)) {
			TH_LOG("op_size %u", bad[i]);
		}
		EXPECT_EQ(0, shadow_stats(_metadata, mfd).out_map_count);
		close(mfd);
	}

	for (i = 0; i < ARRAY_SIZE(good); i++) {
		char *tail;

		mfd = _shadow_create(self->dev, 0, NULL);
		ASSERT_LE(0, mfd);
		s.op_size = good[i] ?: SHADOW_BATCH_OP_SIZE_VER0;
		memset(s.buf, 0, ARRAY_SIZE(ops) * SHADOW_REC_SIZE_MAX);
		for (j = 0; j < ARRAY_SIZE(ops); j++) {
			*sized_op(&s, j) = ops[j];
			sized_op(&s, j)->out_result = UNTOUCHED;
		}
		ASSERT_EQ(0, sized_batch(mfd, 0, &s, ARRAY_SIZE(ops), good[i],
					 &done));
		EXPECT_EQ(ARRAY_SIZE(ops), done);
		EXPECT_EQ(0, sized_op(&s, 0)->out_result);
		EXPECT_EQ(B(0), sized_op(&s, 0)->out_addr);
		EXPECT_EQ(2, sized_op(&s, 1)->out_result);
		EXPECT_EQ(B(2), sized_op(&s, 1)->out_addr);
		EXPECT_EQ(0, sized_op(&s, 2)->out_result);
		EXPECT_EQ(B(4), sized_op(&s, 2)->out_addr);
		EXPECT_EQ(0, sized_op(&s, 3)->out_result);
		EXPECT_EQ(2, shadow_stats(_metadata, mfd).out_map_count);
		EXPECT_EQ(1, shadow_stats(_metadata, mfd).out_rss_anon);
		/* The tails stay zero: nothing is written past the struct. */
		for (j = 0; j < ARRAY_SIZE(ops) * s.op_size; j++) {
			if (j % s.op_size < sizeof(ops[0]))
				continue;
			if (s.buf[j])
				break;
		}
		EXPECT_EQ(ARRAY_SIZE(ops) * s.op_size, j);

		/*
		 * A tail not zero: that operation gets -E2BIG and does not
		 * run; the batch stops there, or goes on with CONTINUE.
		 */
		if (s.op_size > sizeof(ops[0])) {
			ASSERT_EQ(0, _shadow_munmap(mfd, B(0), 8 * PAGE));
			for (j = 0; j < ARRAY_SIZE(ops); j++)
				sized_op(&s, j)->out_result = UNTOUCHED;
			tail = (char *)sized_op(&s, 2) + s.op_size - 1;
			*tail = 1;
			ASSERT_EQ(0, sized_batch(mfd, 0, &s, ARRAY_SIZE(ops),
						 good[i], &done));
			EXPECT_EQ(3, done);
			EXPECT_EQ(-E2BIG, sized_op(&s, 2)->out_result);
			EXPECT_EQ(0, sized_op(&s, 2)->out_addr);
			EXPECT_EQ(UNTOUCHED, sized_op(&s, 3)->out_result);
			EXPECT_EQ(1, *tail);
			EXPECT_EQ(1, shadow_stats(_metadata, mfd).out_map_count);
			ASSERT_EQ(0, sized_batch(mfd, SHADOW_BATCH_CONTINUE,
						 &s, ARRAY_SIZE(ops), good[i],
						 &done));
			EXPECT_EQ(ARRAY_SIZE(ops), done);
			EXPECT_EQ(-E2BIG, sized_op(&s, 2)->out_result);
			EXPECT_EQ(0, sized_op(&s, 3)->out_result);
			EXPECT_EQ(1, shadow_stats(_metadata, mfd).out_map_count);
		}
		close(mfd);
	}
	free(s.buf);
}

/* A bad operation fails alone; the batch goes on with CONTINUE. */
TEST_F(batch, bad_ops)
{
	char buf[8] = "abc";
	struct shadow_mm_batch_op ops[] = {
		BATCH_MMAP(B(0), 4 * PAGE, RW, PRIV | FIXED),
		{ .op = 0, .addr = B(0), .len = PAGE },
		{ .op = 99, .addr = B(0), .len = PAGE },
		BATCH_MUNMAP(B(0), PAGE),			/* reserved */
		BATCH_MMAP(B(8), PAGE, RW, PRIV | FIXED),	/* reserved2 */
		BATCH_FAULT(B(0), PAGE, 4),			/* flag */
		BATCH_FAULT(B(0), PAGE, SHADOW_FAULT_WRITE |
			    SHADOW_FAULT_EXEC),
		BATCH_MUNMAP(B(0), PAGE),			/* flags */
		BATCH_READ(B(0), 8, 1),			/* bad buffer */
		BATCH_WRITE(B(0), 8, NULL),			/* bad buffer */
		{ .op = SHADOW_BATCH_WRITE, .flags = SHADOW_ACCESS_WRITE,
		  .addr = B(0), .len = 3, .buf = (uintptr_t)buf },
		BATCH_READ(B(0) - PAGE, 8, buf),		/* unmapped */
		BATCH_MPROTECT(B(0), PAGE, 0x100),		/* prot */
		BATCH_MADVISE(B(0), PAGE, 12345),		/* advice */
		BATCH_FAULT(-PAGE, 2 * PAGE, 0),		/* wraps */
		BATCH_MMAP(B(8), PAGE, RW, PRIV | FIXED | MAP_HUGETLB),
		BATCH_WRITE(B(0), 3, buf),			/* fine */
	};
	static const long want[] = {
		0, -EINVAL, -EINVAL, -EINVAL, -EINVAL, -EINVAL, -EINVAL,
		-EINVAL, -EFAULT, -EFAULT, -EINVAL, -EFAULT, -EINVAL, -EINVAL,
		-EFAULT, -EOPNOTSUPP, 3,
	};
	int mfd = _shadow_create(self->dev, 0, NULL);
	__u32 done;
	int i;

	ASSERT_LE(0, mfd);
	ops[3].__reserved = 1;
	ops[4].__reserved2 = 1;
	ops[7].flags = 1;
	ASSERT_EQ(ARRAY_SIZE(want), ARRAY_SIZE(ops));
	ASSERT_EQ(0, _shadow_batch(mfd, SHADOW_BATCH_CONTINUE, ops,
				   ARRAY_SIZE(ops), &done));
	EXPECT_EQ(ARRAY_SIZE(ops), done);
	for (i = 0; i < (int)ARRAY_SIZE(ops); i++)
		EXPECT_EQ(want[i], ops[i].out_result) {
			TH_LOG("op %d", i);
		}
	/* Only the first mapping exists, written once at the end. */
	EXPECT_EQ(1, shadow_stats(_metadata, mfd).out_map_count);
	EXPECT_EQ(1, shadow_stats(_metadata, mfd).out_rss_anon);
	shadow_expect(_metadata, mfd, B(0), "abc");
	close(mfd);
}

/* MAP_POPULATE inside a run: the lock is dropped to populate, then on. */
TEST_F(batch, populate_in_a_run)
{
	struct shadow_mm_batch_op ops[] = {
		BATCH_MMAP(B(0), 4 * PAGE, RW, PRIV | FIXED | MAP_POPULATE),
		BATCH_MMAP(B(4), 4 * PAGE, RW, PRIV | FIXED),
		BATCH_MUNMAP(B(2), 4 * PAGE),
		BATCH_MMAP(B(16), 2 * PAGE, RW, SHARED | FIXED | MAP_POPULATE),
	};
	int mfd = _shadow_create(self->dev, 0, NULL);
	struct shadow_mm_stats st;
	__u32 done;

	ASSERT_LE(0, mfd);
	ASSERT_EQ(0, _shadow_batch(mfd, 0, ops, 4, &done));
	EXPECT_EQ(4, done);
	st = shadow_stats(_metadata, mfd);
	EXPECT_EQ(3, st.out_map_count);
	EXPECT_EQ(2, st.out_rss_anon);
	EXPECT_EQ(2, st.out_rss_shmem);
	close(mfd);
}

TEST_HARNESS_MAIN
