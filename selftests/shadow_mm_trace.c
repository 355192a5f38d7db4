// SPDX-License-Identifier: GPL-2.0
/*
 * shadow_mm_trace: record the memory-map calls of a real program, replay
 * them in a shadow address space through shadow_mm_cli and report every
 * difference. x86-64 only.
 *
 * usage:
 *   shadow_mm_trace record [-o LOG] [--aslr] [--legacy] -- PROGRAM [ARGS...]
 *   shadow_mm_trace replay [--cli PATH] [--root DIR] [--keep DIR]
 *                          [--expect-differences N] LOG
 *
 * record runs PROGRAM under ptrace (PTRACE_O_TRACESYSGOOD, EXITKILL, and
 * the exec, exit and clone events), with ASLR off (personality
 * ADDR_NO_RANDOMIZE) unless --aslr, so that its addresses are the ones an
 * unrandomized shadow space chooses. It follows every thread (a clone or
 * clone3 with CLONE_VM): their calls are logged in the order their system
 * calls return. A child with an address space of its own (fork, clone
 * without CLONE_VM) is not traced, nor a vfork child, which shares the
 * space until it execs: a "# note:" line says so. Signals are passed on;
 * a stop signal does not keep the program stopped (its group-stop is
 * resumed). --legacy runs it as setarch -L does, with the legacy
 * bottom-up layout (personality ADDR_COMPAT_LAYOUT); so does a recorder
 * that runs under setarch -L itself.
 *
 * The log (LOG, or stdout) is a shadow_mm_cli script in all but its first
 * line, which replay writes: every line that is not a call is a comment.
 *
 *   # shadow_mm_trace log 1
 *   # command: PROGRAM ARGS...
 *   #mmap_base 0x7ffff7fff000
 *	the top of the mmap area the kernel chose: TASK_SIZE less
 *	RLIMIT_STACK and the stack guard gap, at least 128 MiB (mmap_base()
 *	of arch/x86/mm/mmap.c without randomization); absent with --aslr
 *   #layout legacy
 *	the program got the legacy bottom-up layout at its exec: x86's
 *	mmap_is_legacy(), its personality's ADDR_COMPAT_LAYOUT or
 *	vm.legacy_va_layout (an unlimited RLIMIT_STACK does not make it
 *	legacy on x86); #mmap_base is then not used
 *   #maps LINE
 *	/proc/PID/maps at the exec event (the new image, before its first
 *	instruction), one line each
 *   #stat LINE
 *	/proc/PID/stat then: its fields 45 to 48 are start_data, end_data,
 *	start_brk and brk (proc(5))
 *   CALL  # => RESULT
 *	one per call, in the CLI's syntax on address space "p", with what
 *	the kernel returned: "ok" (0), "ok 0xADDR" (mmap, mremap and brk:
 *	the address, or the new break), "err ENAME" (a failure), "none" (no
 *	return: the process died in the call). The calls are mmap, munmap,
 *	mprotect, mremap, brk, madvise, mlock, mlock2, munlock, mlockall and
 *	munlockall. A file mapping carries file=PATH, its fd's path read at
 *	the call's entry (/proc/PID/fd/N); an mlock2 with MLOCK_ONFAULT is
 *	"mlock ... onfault".
 *   # thread TID started: its calls are recorded
 *   # tid TID
 *	the task that made the calls that follow, when it is not the one of
 *	the call before (at first the process's): none in the log of a
 *	program with one thread
 *   # note: TEXT
 *	what the replay cannot see: a child not traced, an exec, a call the
 *	CLI has no command for (shmat, pkey_mprotect, mseal...)
 *   #final LINE
 *	/proc/PID/maps at the last task's exit event (exit_group or a
 *	fatal signal), the address space as the program left it
 *   #exit N  or  #signal N
 *
 * replay turns the log into a script, "import p MAPS stat=STAT
 * mmap_base=BASE", or "import p MAPS stat=STAT legacy" after #layout
 * legacy (shadow_mm_cli's import of the initial layout), every
 * call, then "maps p", runs it with "shadow_mm_cli -r -x" (one result per
 * call, every call run whatever the one before did), and compares: each
 * call's result (the address chosen, the errno) with the recorded one,
 * then the final maps with the shadow's, line by line. The summary line
 * is "N calls, N same, N differ; final maps: N lines, N same, N differ,
 * N not compared", and the exit status 0 when the calls and lines that
 * differ are exactly as many as --expect-differences (default 0), 1 when
 * not, 2 when the replay could not run.
 *
 * Not compared, and said so: the name of a special mapping that import
 * cannot build ([vvar_vclock], [uprobes]...: anonymous memory in its
 * place; [vdso] and [vvar] it builds as exec does) and [vsyscall] (above
 * the user address space); the start of [stack] (it grows by page
 * faults, which are not recorded); the name and offset of a file mapping
 * replayed as anonymous memory: all of them when the CLI has no file=,
 * else those whose fd named no path the CLI can open (a deleted file, a
 * memfd, a path with a blank); the name of the bss below start_brk,
 * which Linux 6.5 and later leave unnamed where 6.1 and the shadow show
 * [heap]. Calls of two threads that run at the same time may return in
 * another order than the one they took the mmap lock in.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/personality.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <linux/audit.h>
#include <linux/elf.h>

#include "shadow_mm_tools.h"

#ifndef PTRACE_GET_SYSCALL_INFO
#define PTRACE_GET_SYSCALL_INFO		0x420e
#define PTRACE_SYSCALL_INFO_ENTRY	1
#define PTRACE_SYSCALL_INFO_EXIT	2
#endif

#define PAGE_SIZE_4K	4096ULL
#define TASK_SIZE_47	((1ULL << 47) - PAGE_SIZE_4K)
#define STACK_GUARD_GAP	(256ULL * PAGE_SIZE_4K)
#define LOG_VERSION	1

/* The part of struct ptrace_syscall_info (linux/ptrace.h) read here. */
struct syscall_info {
	__u8 op;
	__u8 pad[3];
	__u32 arch;
	__u64 instruction_pointer;
	__u64 stack_pointer;
	union {
		struct {
			__u64 nr;
			__u64 args[6];
		} entry;
		struct {
			__s64 rval;
			__u8 is_error;
		} exit;
		__u64 raw[8];
	};
};

static const char *prog = "shadow_mm_trace";

static void say(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static const char *errno_name(int e)
{
	const char *n = strerrorname_np(e);

	return n ? n : "E?";
}

/* --- record ---------------------------------------------------------------- */

/*
 * @v as a |-list of @names, what no name covers as one hex number, and
 * @prefix before it all; "0" when @v and @prefix are empty.
 */
static void flag_list(char *buf, size_t size, const char *prefix,
		      unsigned long long v, const struct name_val *names)
{
	size_t n = snprintf(buf, size, "%s", prefix);

	for (; names->name; names++) {
		if (!(v & names->val))
			continue;
		n += snprintf(buf + n, size - n, "%s%s", n ? "|" : "",
			      names->name);
		v &= ~names->val;
	}
	if (v || !n)
		snprintf(buf + n, size - n, "%s0x%llx", n ? "|" : "", v);
}

/* PROT as the CLI reads it: rwx letters, |growsdown, or a number. */
static void prot_word(char *buf, size_t size, unsigned long long prot)
{
	unsigned long long rest = prot & ~(unsigned long long)
		(PROT_READ | PROT_WRITE | PROT_EXEC);

	if (rest & ~(unsigned long long)(PROT_GROWSDOWN | PROT_GROWSUP)) {
		snprintf(buf, size, "0x%llx", prot);
		return;
	}
	snprintf(buf, size, "%c%c%c%s%s", prot & PROT_READ ? 'r' : '-',
		 prot & PROT_WRITE ? 'w' : '-', prot & PROT_EXEC ? 'x' : '-',
		 rest & PROT_GROWSDOWN ? "|growsdown" : "",
		 rest & PROT_GROWSUP ? "|growsup" : "");
}

static void advice_word(char *buf, size_t size, unsigned long long advice)
{
	const struct name_val *v;

	for (v = advice_names; v->name; v++) {
		if (v->val == advice) {
			snprintf(buf, size, "%s", v->name);
			return;
		}
	}
	snprintf(buf, size, "%llu", advice);
}

static void addr_word(char *buf, size_t size, unsigned long long a)
{
	snprintf(buf, size, "0x%llx", a);
}

/* One task of the traced process: where it is in its call. */
struct tracee {
	struct tracee *next;
	pid_t tid;
	bool fresh;		/* attached by a clone, its SIGSTOP to come */
	bool stopped;		/* fresh and in that stop, the clone event not seen */
	bool follow;		/* a thread (CLONE_VM): its calls are recorded */
	bool in_call;		/* an entry stop was seen, its exit not yet */
	bool call_logged;	/* line holds a call to be logged */
	bool clone_event;	/* the clone in this call had its event */
	__u64 nr, args[6];
	__u64 clone_flags;	/* of the clone, clone3, fork or vfork in this call */
	char path[PATH_MAX];	/* a file mapping's fd's path */
	char line[PATH_MAX + 256];
};

struct recorder {
	FILE *log;
	pid_t pid;
	bool execed;		/* the exec event was seen */
	bool stopped_logging;	/* a second exec: the space is another one */
	struct tracee *tasks;	/* every task traced */
	pid_t last_tid;		/* the task of the last call logged */
	char *final;		/* /proc/PID/maps at the last exit event */
};

static bool is_clone(__u64 nr)
{
	return nr == SYS_clone || nr == SYS_clone3 || nr == SYS_fork ||
	       nr == SYS_vfork;
}

/* Copy /proc/PID/FILE into the log, each line prefixed with @tag. */
static int copy_proc(struct recorder *r, const char *file, const char *tag)
{
	char path[64], *text = NULL;
	size_t cap = 0;
	ssize_t len;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/%s", r->pid, file);
	f = fopen(path, "r");
	if (!f) {
		say("%s: %s", path, strerror(errno));
		return -1;
	}
	while ((len = getline(&text, &cap, f)) > 0) {
		if (text[len - 1] == '\n')
			text[--len] = '\0';
		fprintf(r->log, "#%s %s\n", tag, text);
	}
	free(text);
	fclose(f);
	return 0;
}

/*
 * The top of the mmap area of a process that runs unrandomized with our
 * RLIMIT_STACK: mmap_base() of Linux's arch/x86/mm/mmap.c. An unlimited
 * stack (or one that overflows with the guard gap) takes the largest gap
 * there: on x86 it does not give the legacy layout.
 */
static void log_mmap_base(struct recorder *r)
{
	unsigned long long gap, max = TASK_SIZE_47 / 6 * 5;
	struct rlimit rl;

	if (getrlimit(RLIMIT_STACK, &rl))
		rl.rlim_cur = RLIM_INFINITY;
	gap = rl.rlim_cur;
	if (gap + STACK_GUARD_GAP > gap)
		gap += STACK_GUARD_GAP;
	if (gap < (128ULL << 20))
		gap = 128ULL << 20;
	if (gap > max)
		gap = max;
	fprintf(r->log, "#mmap_base 0x%llx\n",
		(TASK_SIZE_47 - gap + PAGE_SIZE_4K - 1) & ~(PAGE_SIZE_4K - 1));
}

/*
 * At the exec event: whether the new image got the legacy layout, which
 * arch_pick_mmap_layout() has just decided.
 */
static void log_layout(struct recorder *r)
{
	char pid[16];

	snprintf(pid, sizeof(pid), "%d", r->pid);
	if (proc_layout_is_legacy(pid))
		fputs("#layout legacy\n", r->log);
}

static const char *syscall_name(__u64 nr)
{
	switch (nr) {
	case SYS_shmat: return "shmat";
	case SYS_shmdt: return "shmdt";
	case SYS_pkey_mprotect: return "pkey_mprotect";
	case SYS_remap_file_pages: return "remap_file_pages";
	case SYS_process_madvise: return "process_madvise";
	case 462: return "mseal";
	case 453: return "map_shadow_stack";
	default: return NULL;
	}
}

/* At a call's entry: the command it is, in t->line, or nothing. */
static void call_entry(struct recorder *r, struct tracee *t,
		       const struct syscall_info *si)
{
	const __u64 *a = si->entry.args;
	char w1[64], w2[256], w3[64];
	size_t n = sizeof(t->line);
	char *l = t->line;

	t->in_call = true;
	t->call_logged = true;
	t->nr = si->entry.nr;
	memcpy(t->args, a, sizeof(t->args));
	switch (si->entry.nr) {
	case SYS_mmap: {
		static const char *const types[] = {
			"", "shared", "private", "shared_validate"
		};
		int fd = (int)a[4];

		prot_word(w1, sizeof(w1), a[2]);
		flag_list(w2, sizeof(w2), types[a[3] & 3], a[3] & ~3ULL,
			  map_flag_names);
		if (a[0])
			addr_word(w3, sizeof(w3), a[0]);
		else
			strcpy(w3, "-");
		n = snprintf(l, n, "mmap p %s 0x%llx %s %s", w3,
			     (unsigned long long)a[1], w1, w2);
		if (a[5])
			n += snprintf(l + n, sizeof(t->line) - n,
				      " offset=0x%llx",
				      (unsigned long long)a[5]);
		if (!(a[3] & MAP_ANONYMOUS)) {
			char fdpath[64];
			ssize_t len;

			snprintf(fdpath, sizeof(fdpath), "/proc/%d/fd/%d",
				 t->tid, fd);
			len = fd < 0 ? -1 :
			      readlink(fdpath, t->path, sizeof(t->path) - 1);
			if (len < 0)
				snprintf(t->path, sizeof(t->path), "fd%d", fd);
			else
				t->path[len] = '\0';
			snprintf(l + n, sizeof(t->line) - n, " file=%s",
				 t->path);
		}
		break;
	}
	case SYS_munmap:
		snprintf(l, n, "munmap p 0x%llx 0x%llx",
			 (unsigned long long)a[0], (unsigned long long)a[1]);
		break;
	case SYS_mprotect:
		prot_word(w1, sizeof(w1), a[2]);
		snprintf(l, n, "mprotect p 0x%llx 0x%llx %s",
			 (unsigned long long)a[0], (unsigned long long)a[1], w1);
		break;
	case SYS_madvise:
		advice_word(w1, sizeof(w1), a[2]);
		snprintf(l, n, "madvise p 0x%llx 0x%llx %s",
			 (unsigned long long)a[0], (unsigned long long)a[1], w1);
		break;
	case SYS_mremap:
		n = snprintf(l, n, "mremap p 0x%llx 0x%llx 0x%llx",
			     (unsigned long long)a[0], (unsigned long long)a[1],
			     (unsigned long long)a[2]);
		if (a[3]) {
			flag_list(w2, sizeof(w2), "", a[3], mremap_flag_names);
			n += snprintf(l + n, sizeof(t->line) - n, " %s", w2);
		}
		if (a[3] & MREMAP_FIXED)
			snprintf(l + n, sizeof(t->line) - n, " to=0x%llx",
				 (unsigned long long)a[4]);
		break;
	case SYS_brk:
		if (a[0])
			snprintf(l, n, "brk p 0x%llx", (unsigned long long)a[0]);
		else
			snprintf(l, n, "brk p");
		break;
	case SYS_mlock:
	case SYS_mlock2:
		n = snprintf(l, n, "mlock p 0x%llx 0x%llx",
			     (unsigned long long)a[0], (unsigned long long)a[1]);
		if (si->entry.nr == SYS_mlock2 && a[2] == MLOCK_ONFAULT)
			snprintf(l + n, sizeof(t->line) - n, " onfault");
		else if (si->entry.nr == SYS_mlock2 && a[2])
			/* The CLI's mlock has no word for other flags. */
			snprintf(l, sizeof(t->line),
				 "# note: mlock2 0x%llx 0x%llx flags 0x%llx: not replayable",
				 (unsigned long long)a[0],
				 (unsigned long long)a[1],
				 (unsigned long long)a[2]);
		break;
	case SYS_munlock:
		snprintf(l, n, "munlock p 0x%llx 0x%llx",
			 (unsigned long long)a[0], (unsigned long long)a[1]);
		break;
	case SYS_mlockall:
		flag_list(w1, sizeof(w1), "", a[0], mcl_names);
		snprintf(l, n, "mlockall p %s", w1);
		break;
	case SYS_munlockall:
		snprintf(l, n, "munlockall p");
		break;
	case SYS_clone:
	case SYS_clone3:
	case SYS_fork:
	case SYS_vfork:
		/* Said at the clone event or the call's exit: who follows. */
		t->call_logged = false;
		t->clone_event = false;
		t->clone_flags = si->entry.nr == SYS_clone ? a[0] : 0;
		if (si->entry.nr == SYS_vfork)
			t->clone_flags = CLONE_VM | CLONE_VFORK;
		if (si->entry.nr == SYS_clone3) {
			errno = 0;
			t->clone_flags = ptrace(PTRACE_PEEKDATA, t->tid,
						(void *)(long)a[0], NULL);
			if (errno)
				t->clone_flags = 0;
		}
		break;
	default:
		t->call_logged = false;
		if (syscall_name(si->entry.nr))
			fprintf(r->log, "# note: %s(0x%llx, 0x%llx, 0x%llx): %s\n",
				syscall_name(si->entry.nr),
				(unsigned long long)a[0],
				(unsigned long long)a[1],
				(unsigned long long)a[2],
				"the CLI has no command for it");
		break;
	}
}

static bool returns_addr(__u64 nr)
{
	return nr == SYS_mmap || nr == SYS_mremap || nr == SYS_brk;
}

/* The first call of another task than the one before says which it is. */
static void say_tid(struct recorder *r, struct tracee *t)
{
	if (t->tid == r->last_tid)
		return;
	fprintf(r->log, "# tid %d\n", t->tid);
	r->last_tid = t->tid;
}

/* A task that did not become one of ours: fork, vfork, clone without VM. */
static void note_child(struct recorder *r, struct tracee *t, long child)
{
	const char *call = t->nr == SYS_fork ? "fork" :
			   t->nr == SYS_vfork ? "vfork" :
			   t->nr == SYS_clone3 ? "clone3" : "clone";
	const char *what = t->clone_flags & CLONE_VFORK ?
			   "shares the space until it execs or exits" :
			   t->clone_flags & CLONE_VM ? "shares the space" :
			   "has a space of its own";

	fprintf(r->log, "# note: %s: task %ld %s, not recorded\n", call, child,
		what);
}

static void call_exit(struct recorder *r, struct tracee *t,
		      const struct syscall_info *si)
{
	if (!t->in_call)
		return;
	t->in_call = false;
	if (is_clone(t->nr) && !t->clone_event && !si->exit.is_error &&
	    si->exit.rval > 0)
		note_child(r, t, (long)si->exit.rval);
	if (!t->call_logged)
		return;
	if (t->line[0] != '#')
		say_tid(r, t);
	if (t->line[0] == '#')
		fprintf(r->log, "%s\n", t->line);
	else if (si->exit.is_error)
		fprintf(r->log, "%s  # => err %s\n", t->line,
			errno_name((int)-si->exit.rval));
	else if (returns_addr(t->nr))
		fprintf(r->log, "%s  # => ok 0x%llx\n", t->line,
			(unsigned long long)si->exit.rval);
	else
		fprintf(r->log, "%s  # => ok\n", t->line);
	t->call_logged = false;
}

static int syscall_stop(struct recorder *r, struct tracee *t)
{
	struct syscall_info si;

	memset(&si, 0, sizeof(si));
	if (ptrace(PTRACE_GET_SYSCALL_INFO, t->tid, sizeof(si), &si) < 0) {
		/* Killed in the stop (a group exit): no call to see. */
		if (errno == ESRCH)
			return 0;
		say("PTRACE_GET_SYSCALL_INFO: %s", strerror(errno));
		return -1;
	}
	if (!r->execed || r->stopped_logging)
		return 0;
	if (si.arch != AUDIT_ARCH_X86_64) {
		if (si.op == PTRACE_SYSCALL_INFO_ENTRY)
			fprintf(r->log, "# note: a call of another ABI (arch 0x%x), not recorded\n",
				si.arch);
		return 0;
	}
	if (si.op == PTRACE_SYSCALL_INFO_ENTRY)
		call_entry(r, t, &si);
	else if (si.op == PTRACE_SYSCALL_INFO_EXIT)
		call_exit(r, t, &si);
	return 0;
}

static struct tracee *find_tracee(struct recorder *r, pid_t tid)
{
	struct tracee *t;

	for (t = r->tasks; t; t = t->next)
		if (t->tid == tid)
			return t;
	return NULL;
}

static struct tracee *add_tracee(struct recorder *r, pid_t tid)
{
	struct tracee *t = calloc(1, sizeof(*t));

	if (!t) {
		say("out of memory");
		return NULL;
	}
	t->tid = tid;
	t->next = r->tasks;
	r->tasks = t;
	return t;
}

static void drop_tracee(struct recorder *r, pid_t tid)
{
	struct tracee **p, *t;

	for (p = &r->tasks; *p; p = &(*p)->next) {
		if ((*p)->tid == tid) {
			t = *p;
			*p = t->next;
			free(t);
			return;
		}
	}
}

/* Resume @tid: a task killed in its stop (ESRCH) is not an error. */
static int resume(pid_t tid, int sig)
{
	if (!ptrace(PTRACE_SYSCALL, tid, NULL, (void *)(long)sig) ||
	    errno == ESRCH)
		return 0;
	say("PTRACE_SYSCALL %d: %s", tid, strerror(errno));
	return -1;
}

/*
 * A new task in its first stop (the SIGSTOP of an auto-attached child),
 * its parent's clone event seen: go on with a thread, detach a process.
 */
static int start_tracee(struct recorder *r, struct tracee *t)
{
	pid_t tid = t->tid;

	t->fresh = false;
	if (t->follow)
		return resume(tid, 0);
	drop_tracee(r, tid);
	if (ptrace(PTRACE_DETACH, tid, NULL, NULL) && errno != ESRCH) {
		say("PTRACE_DETACH %d: %s", tid, strerror(errno));
		return -1;
	}
	return 0;
}

/* The parent's clone event: the new task is a thread to follow, or not. */
static int clone_event(struct recorder *r, struct tracee *t)
{
	unsigned long msg = 0;
	struct tracee *c;
	bool stopped;

	if (ptrace(PTRACE_GETEVENTMSG, t->tid, NULL, &msg) < 0)
		return errno == ESRCH ? 0 : -1;
	c = find_tracee(r, (pid_t)msg);
	/* Its first stop came before this event: it waits in it. */
	stopped = c && c->fresh && c->stopped;
	if (!c)
		c = add_tracee(r, (pid_t)msg);
	if (!c)
		return -1;
	c->fresh = true;
	c->follow = is_clone(t->nr) && (t->clone_flags & CLONE_VM);
	t->clone_event = true;
	if (r->execed && !r->stopped_logging) {
		if (c->follow)
			fprintf(r->log, "# thread %d started: its calls are recorded\n",
				c->tid);
		else
			note_child(r, t, (long)msg);
	}
	return stopped ? start_tracee(r, c) : 0;
}

/* Keep the maps at each task's exit: the last one's are the final maps. */
static void keep_final(struct recorder *r, pid_t tid)
{
	char path[64];
	size_t cap = 0, n = 0, len;
	char buf[4096], *text = NULL, *p;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/maps", tid);
	f = fopen(path, "r");
	if (!f)
		return;
	while ((len = fread(buf, 1, sizeof(buf), f)) > 0) {
		if (n + len + 1 > cap) {
			cap = (n + len + 1) * 2;
			p = realloc(text, cap);
			if (!p) {
				free(text);
				fclose(f);
				return;
			}
			text = p;
		}
		memcpy(text + n, buf, len);
		n += len;
	}
	fclose(f);
	if (!text)
		return;
	text[n] = '\0';
	free(r->final);
	r->final = text;
}

static void write_final(struct recorder *r)
{
	char *line, *save = NULL;

	if (!r->final)
		return;
	for (line = strtok_r(r->final, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save))
		fprintf(r->log, "#final %s\n", line);
	free(r->final);
	r->final = NULL;
}

/*
 * An event stop: the exec (the initial layout), a task's exit (the final
 * maps, kept until the last one) or a clone.
 */
static int event_stop(struct recorder *r, struct tracee *t, int event)
{
	unsigned long former = 0;

	if (event == PTRACE_EVENT_EXEC) {
		/*
		 * Exec from a thread (de_thread()): the execing task takes the
		 * leader's tid, its former one is gone without a report.
		 */
		if (!ptrace(PTRACE_GETEVENTMSG, t->tid, NULL, &former) &&
		    (pid_t)former != t->tid)
			drop_tracee(r, (pid_t)former);
		t->in_call = false;
		t->call_logged = false;
		if (r->execed) {
			fputs("# note: exec again: the new image's calls are not recorded\n",
			      r->log);
			r->stopped_logging = true;
			return 0;
		}
		r->execed = true;
		log_layout(r);
		if (copy_proc(r, "maps", "maps") || copy_proc(r, "stat", "stat"))
			return -1;
	} else if (event == PTRACE_EVENT_EXIT && r->execed) {
		if (t->in_call && t->call_logged && t->line[0] != '#') {
			say_tid(r, t);
			fprintf(r->log, "%s  # => none\n", t->line);
		}
		t->in_call = false;
		keep_final(r, t->tid);
	} else if (event == PTRACE_EVENT_CLONE) {
		return clone_event(r, t);
	}
	return 0;
}

/* A stop that is not a call's nor an event's: the signal to pass on. */
static int signal_of(struct tracee *t, int sig)
{
	siginfo_t info;

	/* A group-stop, not a signal: nothing to deliver. */
	if (ptrace(PTRACE_GETSIGINFO, t->tid, NULL, &info) < 0)
		return 0;
	return sig;
}

static int do_record(const char *out, bool aslr, bool legacy, char **argv)
{
	struct recorder r = { .log = stdout };
	int status, sig, i, leader = -1, ret = 0;
	struct tracee *t;
	pid_t pid, tid;
	const char *c;

	if (out) {
		r.log = fopen(out, "w");
		if (!r.log) {
			say("%s: %s", out, strerror(errno));
			return 2;
		}
	}
	fprintf(r.log, "# shadow_mm_trace log %d\n# command:", LOG_VERSION);
	/* One line, whatever the arguments hold ("python3 -c" code). */
	for (i = 0; argv[i]; i++) {
		fputc(' ', r.log);
		for (c = argv[i]; *c; c++) {
			if (*c == '\n')
				fputs("\\n", r.log);
			else
				fputc(*c, r.log);
		}
	}
	fputc('\n', r.log);
	if (!aslr)
		log_mmap_base(&r);
	else
		fprintf(r.log, "# note: recorded with ASLR on: the addresses cannot be replayed\n");
	fflush(r.log);

	pid = fork();
	if (pid < 0) {
		say("fork: %s", strerror(errno));
		return 2;
	}
	if (!pid) {
		if (!aslr && personality(personality(0xffffffff) |
					 ADDR_NO_RANDOMIZE) < 0)
			_exit(127);
		if (legacy && personality(personality(0xffffffff) |
					  ADDR_COMPAT_LAYOUT) < 0)
			_exit(127);
		if (ptrace(PTRACE_TRACEME, 0, NULL, NULL) < 0)
			_exit(127);
		raise(SIGSTOP);
		execvp(argv[0], argv);
		fprintf(stderr, "%s: %s: %s\n", prog, argv[0], strerror(errno));
		_exit(127);
	}
	r.pid = pid;
	r.last_tid = pid;
	if (waitpid(pid, &status, 0) != pid || !WIFSTOPPED(status)) {
		say("the child did not stop");
		return 2;
	}
	/*
	 * Threads (clone events) are followed; fork and vfork children are
	 * not traced at all, and a clone without CLONE_VM is detached.
	 */
	if (ptrace(PTRACE_SETOPTIONS, pid, NULL,
		   (void *)(long)(PTRACE_O_TRACESYSGOOD | PTRACE_O_EXITKILL |
				  PTRACE_O_TRACEEXEC | PTRACE_O_TRACEEXIT |
				  PTRACE_O_TRACECLONE)) < 0) {
		say("PTRACE_SETOPTIONS: %s", strerror(errno));
		kill(pid, SIGKILL);
		return 2;
	}
	if (!add_tracee(&r, pid) || resume(pid, 0))
		goto fail;
	/* Until the last task is gone: the leader's exit comes last. */
	while ((tid = waitpid(-1, &status, __WALL)) != -1 || errno == EINTR) {
		if (tid < 0)
			continue;
		if (WIFEXITED(status) || WIFSIGNALED(status)) {
			drop_tracee(&r, tid);
			if (tid == pid)
				leader = status;
			continue;
		}
		if (!WIFSTOPPED(status))
			continue;
		t = find_tracee(&r, tid);
		if (!t) {
			/* A new task whose parent's clone event is to come. */
			t = add_tracee(&r, tid);
			if (!t)
				goto fail;
			t->fresh = true;
			t->stopped = true;
			continue;
		}
		sig = 0;
		if (WSTOPSIG(status) == (SIGTRAP | 0x80)) {
			if (syscall_stop(&r, t))
				goto fail;
		} else if (WSTOPSIG(status) == SIGTRAP && status >> 16) {
			if (event_stop(&r, t, status >> 16))
				goto fail;
		} else if (t->fresh && t->follow) {
			/* A followed thread's first stop: its SIGSTOP. */
			t->fresh = false;
		} else if (t->fresh) {
			if (start_tracee(&r, t))
				goto fail;
			continue;
		} else {
			sig = signal_of(t, WSTOPSIG(status));
		}
		if (resume(tid, sig))
			goto fail;
	}
	if (errno != ECHILD)
		say("waitpid: %s", strerror(errno));
	write_final(&r);
	if (leader != -1 && WIFEXITED(leader))
		fprintf(r.log, "#exit %d\n", WEXITSTATUS(leader));
	else if (leader != -1 && WIFSIGNALED(leader))
		fprintf(r.log, "#signal %d\n", WTERMSIG(leader));
	goto out;
fail:
	kill(pid, SIGKILL);
	while (waitpid(-1, &status, __WALL) > 0 || errno == EINTR)
		;
	ret = 2;
out:
	while (r.tasks)
		drop_tracee(&r, r.tasks->tid);
	free(r.final);
	if (out)
		fclose(r.log);
	if (!ret && !r.execed) {
		say("%s was not run", argv[0]);
		return 2;
	}
	return ret;
}

/* --- replay ---------------------------------------------------------------- */

struct call {
	int line;		/* in the log */
	char *text;		/* the command */
	char *recorded;		/* "ok", "ok 0x...", "err ENAME", "none" */
	char *replayed;
	bool stand_in;		/* a file mapping replayed as anonymous */
};

struct maps_line {
	unsigned long long start, end, offset;
	char perms[5];
	const char *name;
	bool seen;
};

struct log {
	const char *path;
	char **maps, **final;
	int nr_maps, nr_final;
	char *stat;
	char *mmap_base;
	bool legacy;		/* #layout legacy */
	struct call *calls;
	int nr_calls;
	char **stood_in;	/* the paths of the files replayed as anonymous */
	int nr_stood_in;
};

static void *grow(void *p, int nr, size_t size)
{
	if (nr & (nr - 1) && nr)
		return p;
	p = realloc(p, (nr ? nr * 2 : 8) * size);
	if (!p) {
		say("out of memory");
		exit(2);
	}
	return p;
}

static char *xstrdup(const char *s)
{
	char *d = strdup(s);

	if (!d) {
		say("out of memory");
		exit(2);
	}
	return d;
}

static char *trim(char *s)
{
	size_t len = strlen(s);

	while (len && isspace((unsigned char)s[len - 1]))
		s[--len] = '\0';
	while (isspace((unsigned char)*s))
		s++;
	return s;
}

static int read_log(struct log *lg)
{
	FILE *f = fopen(lg->path, "r");
	char *text = NULL;
	size_t cap = 0;
	int nr;

	if (!f) {
		say("%s: %s", lg->path, strerror(errno));
		return -1;
	}
	for (nr = 1; getline(&text, &cap, f) >= 0; nr++) {
		char *s = text, *ann;

		s[strcspn(s, "\n")] = '\0';
		if (!strncmp(s, "#maps ", 6)) {
			lg->maps = grow(lg->maps, lg->nr_maps, sizeof(char *));
			lg->maps[lg->nr_maps++] = xstrdup(s + 6);
		} else if (!strncmp(s, "#final ", 7)) {
			lg->final = grow(lg->final, lg->nr_final,
					 sizeof(char *));
			lg->final[lg->nr_final++] = xstrdup(s + 7);
		} else if (!strncmp(s, "#stat ", 6)) {
			lg->stat = xstrdup(s + 6);
		} else if (!strncmp(s, "#mmap_base ", 11)) {
			lg->mmap_base = xstrdup(trim(s + 11));
		} else if (!strcmp(trim(s), "#layout legacy")) {
			lg->legacy = true;
		} else if (*trim(s) && *trim(s) != '#') {
			struct call *c;

			ann = strstr(s, "# => ");
			if (!ann) {
				say("%s:%d: a call without its result (# => ...)",
				    lg->path, nr);
				goto bad;
			}
			lg->calls = grow(lg->calls, lg->nr_calls,
					 sizeof(*lg->calls));
			c = &lg->calls[lg->nr_calls++];
			memset(c, 0, sizeof(*c));
			c->line = nr;
			c->recorded = xstrdup(trim(ann + 5));
			*ann = '\0';
			c->text = xstrdup(trim(s));
		}
	}
	free(text);
	fclose(f);
	if (!lg->nr_maps || !lg->stat) {
		say("%s: no #maps or #stat lines: not a log of shadow_mm_trace record",
		    lg->path);
		return -1;
	}
	return 0;
bad:
	free(text);
	fclose(f);
	return -1;
}

/* Run @argv with stdout and stderr into @out: the exit status, or -1. */
static int run(char *const argv[], const char *out)
{
	int status, fd;
	pid_t pid = fork();

	if (pid < 0)
		return -1;
	if (!pid) {
		fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd < 0)
			_exit(126);
		dup2(fd, 1);
		dup2(fd, 2);
		execv(argv[0], argv);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static int write_lines(const char *path, char **lines, int nr)
{
	FILE *f = fopen(path, "w");
	int i;

	if (!f) {
		say("%s: %s", path, strerror(errno));
		return -1;
	}
	for (i = 0; i < nr; i++)
		fprintf(f, "%s\n", lines[i]);
	return fclose(f);
}

/* Does the CLI parse @line (after "import"-free set-up)? */
static bool cli_accepts(const char *cli, const char *dir, const char *opt,
			const char *line)
{
	char script[PATH_MAX], out[PATH_MAX];
	char *argv[5] = { (char *)cli, (char *)opt, NULL, script, NULL };
	FILE *f;

	argv[2] = "-n";
	snprintf(script, sizeof(script), "%s/probe.sh", dir);
	snprintf(out, sizeof(out), "%s/probe.out", dir);
	f = fopen(script, "w");
	if (!f)
		return false;
	fprintf(f, "create p\n%s\n", line);
	fclose(f);
	return run(argv, out) == 0;
}

/* The mmap line @text without its file=PATH and offset=, as anonymous. */
static char *stand_in(const char *text)
{
	char *s = xstrdup(text), *w, *flags;
	char *out = malloc(strlen(text) + 32);
	int i = 0;

	if (!out)
		exit(2);
	out[0] = '\0';
	for (w = strtok(s, " "); w; w = strtok(NULL, " "), i++) {
		if (!strncmp(w, "file=", 5) || !strncmp(w, "offset=", 7))
			continue;
		if (i == 5) {
			/* Shared file memory would be shmem: keep it private. */
			flags = w;
			if (!strncmp(flags, "shared_validate", 15))
				flags += 15;
			else if (!strncmp(flags, "shared", 6) ||
				 !strncmp(flags, "private", 7))
				flags += flags[0] == 's' ? 6 : 7;
			strcat(out, " private|anonymous");
			strcat(out, flags);
			continue;
		}
		if (i)
			strcat(out, " ");
		strcat(out, w);
	}
	free(s);
	return out;
}

/*
 * Can the CLI open a call's file=PATH as the program did? Not when the
 * path is none (a deleted file, a memfd, an fd readlink could not name:
 * their maps names are not paths) or holds a blank (the CLI's words end
 * there). The recorder writes file= last: the PATH is the rest.
 */
static bool file_replayable(const char *text)
{
	const char *path = strstr(text, " file=");

	path += 6;
	return path[0] == '/' && !path[strcspn(path, " \t")];
}

static bool stood_in(const struct log *lg, const char *name)
{
	int i;

	for (i = 0; i < lg->nr_stood_in; i++)
		if (!strcmp(lg->stood_in[i], name))
			return true;
	return false;
}

/* Field @nr (proc(5)'s numbering) of the stat line, or 0. */
static unsigned long long stat_field(const char *stat, int nr)
{
	const char *s = strrchr(stat, ')');
	int field;

	for (field = 2; s && *s && field < nr; field++)
		s = strchr(s + 1, ' ');
	return s ? strtoull(s, NULL, 10) : 0;
}

/* One maps line: 0, or -1 when it is not one. */
static int parse_maps(const char *s, struct maps_line *l)
{
	int n = 0;
	unsigned int maj, min;
	unsigned long long ino;

	memset(l, 0, sizeof(*l));
	if (sscanf(s, "%llx-%llx %4s %llx %x:%x %llu %n", &l->start, &l->end,
		   l->perms, &l->offset, &maj, &min, &ino, &n) < 7)
		return -1;
	l->name = s + n;
	return 0;
}

/* The name of a special mapping that import replaces with anonymous memory. */
static bool special(const char *name)
{
	return name[0] == '[' && strcmp(name, "[heap]") &&
	       strcmp(name, "[stack]") && strcmp(name, "[vdso]") &&
	       strcmp(name, "[vvar]");
}

struct verdict {
	int same, differ, not_compared;
};

static void final_differs(struct verdict *v, const char *what,
			  const struct maps_line *rec,
			  const struct maps_line *sh)
{
	printf("final maps: %s:", what);
	if (rec)
		printf(" recorded %llx-%llx %s %08llx %s", rec->start,
		       rec->end, rec->perms, rec->offset, rec->name);
	if (rec && sh)
		printf(",");
	if (sh)
		printf(" shadow %llx-%llx %s %08llx %s", sh->start, sh->end,
		       sh->perms, sh->offset, sh->name);
	printf("\n");
	v->differ++;
}

/*
 * The recorded final maps against the shadow's, by start address: the
 * range, permissions, offset and name of each line, but for what replay
 * cannot reproduce (see the top of this file).
 */
static void compare_maps(struct log *lg, char **shadow, int nr_shadow,
			 const char *root, bool files_stand_in,
			 struct verdict *v)
{
	struct maps_line *sh = calloc(nr_shadow + 1, sizeof(*sh));
	unsigned long long start_brk = stat_field(lg->stat, 47);
	size_t rootlen = strlen(root);
	int i, j, nr = 0;

	for (i = 0; i < nr_shadow; i++)
		if (!parse_maps(shadow[i], &sh[nr]))
			nr++;
	for (i = 0; i < lg->nr_final; i++) {
		struct maps_line l;
		const char *name;
		struct maps_line *s = NULL;

		if (parse_maps(lg->final[i], &l))
			continue;
		if (l.end > TASK_SIZE_47) {
			printf("final maps: not compared: %llx-%llx %s: %s\n",
			       l.start, l.end, l.name,
			       "above the user address space");
			v->not_compared++;
			continue;
		}
		for (j = 0; j < nr; j++) {
			if (sh[j].seen)
				continue;
			if (sh[j].start == l.start ||
			    (!strcmp(l.name, "[stack]") && sh[j].end == l.end)) {
				s = &sh[j];
				break;
			}
		}
		if (!s) {
			final_differs(v, "only recorded", &l, NULL);
			continue;
		}
		s->seen = true;
		name = s->name;
		if (rootlen && !strncmp(name, root, rootlen) &&
		    name[rootlen] == '/')
			name += rootlen;
		if (!strcmp(l.name, "[stack]")) {
			if (s->end == l.end && !strcmp(s->perms, l.perms) &&
			    s->start == l.start && !strcmp(name, l.name)) {
				v->same++;
				continue;
			}
			if (s->end == l.end && !strcmp(s->perms, l.perms)) {
				printf("final maps: not compared: %s %llx, %s %llx %s: %s\n",
				       "[stack] at", l.start,
				       "the shadow's at", s->start, name,
				       "it grows by faults, not recorded");
				v->not_compared++;
				continue;
			}
		} else if (s->end == l.end && l.end == start_brk && !*l.name &&
			   !strcmp(name, "[heap]") && !s->offset &&
			   !strcmp(s->perms, l.perms)) {
			printf("final maps: not compared: %llx-%llx, %s: %s\n",
			       l.start, l.end, "the bss below start_brk",
			       "unnamed by Linux 6.5 and later, [heap] in 6.1 and the shadow");
			v->not_compared++;
			continue;
		} else if (s->end == l.end && !strcmp(s->perms, l.perms) &&
			   (special(l.name) ||
			    (!*name && ((files_stand_in && l.name[0] == '/') ||
					stood_in(lg, l.name))))) {
			v->not_compared++;
			continue;
		} else if (s->end == l.end && !strcmp(s->perms, l.perms) &&
			   s->offset == l.offset && !strcmp(name, l.name)) {
			v->same++;
			continue;
		}
		final_differs(v, "differs", &l, s);
	}
	for (j = 0; j < nr; j++)
		if (!sh[j].seen)
			final_differs(v, "only in the shadow", NULL, &sh[j]);
	free(sh);
}

static int find_cli(char *buf, size_t size, const char *given)
{
	char self[PATH_MAX / 2];
	ssize_t len;
	char *slash;

	if (given) {
		snprintf(buf, size, "%s", given);
		return 0;
	}
	len = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (len > 0) {
		self[len] = '\0';
		slash = strrchr(self, '/');
		if (slash) {
			*slash = '\0';
			snprintf(buf, size, "%s/shadow_mm_cli", self);
			if (!access(buf, X_OK))
				return 0;
		}
	}
	snprintf(buf, size, "/bin/shadow_mm_cli");
	if (!access(buf, X_OK))
		return 0;
	snprintf(buf, size, "/usr/bin/shadow_mm_cli");
	if (!access(buf, X_OK))
		return 0;
	say("no shadow_mm_cli next to this program or in /bin, /usr/bin: give --cli PATH");
	return -1;
}

static int do_replay(const char *path, const char *cli_given,
		     const char *root_given, const char *keep, int expect)
{
	struct log lg = { .path = path };
	char cli[PATH_MAX], dir[PATH_MAX / 2], file[PATH_MAX], out[PATH_MAX];
	char root[PATH_MAX] = "";
	char **shadow = NULL, *text = NULL;
	int nr_shadow = 0, i, blk, ret = 2;
	struct verdict calls = { 0 }, maps = { 0 };
	bool files, import_ok = false;
	size_t cap = 0;
	FILE *f;

	if (read_log(&lg) || find_cli(cli, sizeof(cli), cli_given))
		return 2;
	if (root_given && !realpath(root_given, root)) {
		say("--root %s: %s", root_given, strerror(errno));
		return 2;
	}
	if (keep) {
		snprintf(dir, sizeof(dir), "%s", keep);
		if (mkdir(dir, 0755) && errno != EEXIST) {
			say("%s: %s", dir, strerror(errno));
			return 2;
		}
	} else {
		snprintf(dir, sizeof(dir), "%s/shadow_mm_trace.XXXXXX",
			 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
		if (!mkdtemp(dir)) {
			say("mkdtemp %s: %s", dir, strerror(errno));
			return 2;
		}
	}
	if (!cli_accepts(cli, dir, "-r", "import q /proc/self/maps")) {
		say("%s has no replay mode (-r) or no import: it cannot replay",
		    cli);
		goto out;
	}
	files = cli_accepts(cli, dir, "-r",
			    "mmap p - 1p r-- private file=/proc/self/exe");
	if (!files)
		printf("# the CLI has no file=: file mappings are replayed as anonymous memory\n");

	snprintf(file, sizeof(file), "%s/initial.maps", dir);
	if (write_lines(file, lg.maps, lg.nr_maps))
		goto out;
	snprintf(file, sizeof(file), "%s/initial.stat", dir);
	if (write_lines(file, &lg.stat, 1))
		goto out;
	snprintf(file, sizeof(file), "%s/replay.sh", dir);
	f = fopen(file, "w");
	if (!f) {
		say("%s: %s", file, strerror(errno));
		goto out;
	}
	fprintf(f, "import p %s/initial.maps stat=%s/initial.stat", dir, dir);
	if (lg.legacy)
		fputs(" legacy", f);
	else if (lg.mmap_base)
		fprintf(f, " mmap_base=%s", lg.mmap_base);
	if (root[0])
		fprintf(f, " root=%s", root);
	fputc('\n', f);
	for (i = 0; i < lg.nr_calls; i++) {
		struct call *c = &lg.calls[i];

		if (strstr(c->text, " file=") &&
		    (!files || !file_replayable(c->text))) {
			char *s = stand_in(c->text);

			c->stand_in = true;
			lg.stood_in = grow(lg.stood_in, lg.nr_stood_in,
					   sizeof(char *));
			lg.stood_in[lg.nr_stood_in++] =
				xstrdup(strstr(c->text, " file=") + 6);
			fprintf(f, "%s\n", s);
			free(s);
		} else {
			fprintf(f, "%s\n", c->text);
		}
	}
	fprintf(f, "maps p\n");
	fclose(f);

	snprintf(out, sizeof(out), "%s/replay.out", dir);
	{
		char *argv[5] = { cli, NULL, NULL, file, NULL };

		argv[1] = "-r";
		argv[2] = "-x";
		if (run(argv, out) < 0) {
			say("%s: could not run", cli);
			goto out;
		}
	}

	/*
	 * Block 0 is the import, 1 to nr_calls the calls, the last the maps;
	 * a call's result is the last "ok", "err" or "fail" line of its block.
	 */
	f = fopen(out, "r");
	if (!f)
		goto out;
	blk = -1;
	while (getline(&text, &cap, f) >= 0) {
		text[strcspn(text, "\n")] = '\0';
		if (!strncmp(text, "+ ", 2)) {
			blk++;
			continue;
		}
		if (blk == 0) {
			if (!strncmp(text, "ok", 2) || !strncmp(text, "# p: id", 7))
				import_ok = true;
			if (strncmp(text, "ok", 2))
				printf("%s\n", text);
		} else if (blk > 0 && blk <= lg.nr_calls) {
			struct call *c = &lg.calls[blk - 1];

			if (!strncmp(text, "ok", 2) || !strncmp(text, "err ", 4) ||
			    !strcmp(text, "fail")) {
				free(c->replayed);
				c->replayed = xstrdup(text);
			}
		} else if (blk == lg.nr_calls + 1) {
			shadow = grow(shadow, nr_shadow, sizeof(char *));
			shadow[nr_shadow++] = xstrdup(text);
		}
	}
	fclose(f);
	if (!import_ok) {
		say("the import of the initial maps failed: see %s", out);
		keep = dir;
		goto out;
	}

	for (i = 0; i < lg.nr_calls; i++) {
		struct call *c = &lg.calls[i];
		const char *got = c->replayed ? c->replayed : "(no result)";

		if (!strcmp(c->recorded, got)) {
			calls.same++;
			continue;
		}
		calls.differ++;
		printf("%s:%d: %s%s: recorded %s, replayed %s\n", path,
		       c->line, c->text,
		       c->stand_in ? " (as anonymous memory)" : "",
		       c->recorded, got);
	}
	compare_maps(&lg, shadow, nr_shadow, root, !files, &maps);
	printf("%d calls, %d same, %d differ; ", lg.nr_calls, calls.same,
	       calls.differ);
	printf("final maps: %d lines, %d same, %d differ, %d not compared\n",
	       lg.nr_final, maps.same, maps.differ, maps.not_compared);
	ret = calls.differ + maps.differ == expect ? 0 : 1;
out:
	free(text);
	if (!keep) {
		static const char *const names[] = {
			"probe.sh", "probe.out", "initial.maps",
			"initial.stat", "replay.sh", "replay.out", NULL
		};

		for (i = 0; names[i]; i++) {
			snprintf(file, sizeof(file), "%s/%s", dir, names[i]);
			unlink(file);
		}
		rmdir(dir);
	}
	return ret;
}

static void print_usage(FILE *f)
{
	fprintf(f,
		"usage: %s record [-o LOG] [--aslr] [--legacy] -- PROGRAM [ARGS...]\n"
		"       %s replay [--cli PATH] [--root DIR] [--keep DIR]\n"
		"                 [--expect-differences N] LOG\n"
		"record: run PROGRAM (ASLR off unless --aslr; with --legacy, the legacy\n"
		"  bottom-up layout, as setarch -L) and log its mmap, munmap,\n"
		"  mprotect, mremap, brk, madvise, mlock and munlock calls with their\n"
		"  results, and its maps at exec and at exit.\n"
		"replay: rebuild the initial maps with shadow_mm_cli's import, replay\n"
		"  each call with shadow_mm_cli -r and report every difference; exit 0\n"
		"  when exactly N (default 0) calls and final maps lines differ.\n",
		prog, prog);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "aslr", no_argument, NULL, 'a' },
		{ "legacy", no_argument, NULL, 'L' },
		{ "cli", required_argument, NULL, 'c' },
		{ "root", required_argument, NULL, 'r' },
		{ "keep", required_argument, NULL, 'k' },
		{ "expect-differences", required_argument, NULL, 'e' },
		{ "help", no_argument, NULL, 'h' },
		{ }
	};
	const char *out = NULL, *cli = NULL, *root = NULL, *keep = NULL;
	bool aslr = false, legacy = false;
	int expect = 0, opt;
	char *end;

	if (argc < 2) {
		print_usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		print_usage(stdout);
		return 0;
	}
	optind = 2;
	while ((opt = getopt_long(argc, argv, "+o:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'o':
			out = optarg;
			break;
		case 'a':
			aslr = true;
			break;
		case 'L':
			legacy = true;
			break;
		case 'c':
			cli = optarg;
			break;
		case 'r':
			root = optarg;
			break;
		case 'k':
			keep = optarg;
			break;
		case 'e':
			expect = strtol(optarg, &end, 10);
			if (*end || expect < 0) {
				say("--expect-differences: expected a count, got '%s'",
				    optarg);
				return 2;
			}
			break;
		case 'h':
			print_usage(stdout);
			return 0;
		default:
			print_usage(stderr);
			return 2;
		}
	}
	if (!strcmp(argv[1], "record") && optind < argc)
		return do_record(out, aslr, legacy, argv + optind);
	if (!strcmp(argv[1], "replay") && optind == argc - 1)
		return do_replay(argv[optind], cli, root, keep, expect);
	print_usage(stderr);
	return 2;
}
