// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* User space for bootstrap.bpf.c, written against a libbpf skeleton (ours or bpftool's):
 *
 *   bootstrap_user [--filter]
 *
 * Loads and attaches the tracer, then execs /bin/true in three children and prints what
 * the ring buffer delivered. With --filter, one more child is forked first and held on a
 * pipe; its pid goes into skel->rodata->targ_pid before load, and it execs only after
 * attach, so the kernel filter must let through its events and no others.
 *
 * Output, one item per line:
 *   child <pid>                 a plain child (exec'd /bin/true)
 *   target <pid>                the held child (--filter only)
 *   event exec|exit <pid> <ppid> <exit_code> <comm>
 *   received <n>                events this program handled
 *   events_seen <n>             the .bss counter, read through skel->bss
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bootstrap.h"
#include "bootstrap.skel.h"

static unsigned long long received;

static int on_event(void *ctx, void *data, size_t len)
{
	const struct event *e = data;

	(void)ctx;
	if (len < sizeof(*e))
		return 0;
	received++;
	printf("event %s %d %d %u %.16s\n", e->exit_event ? "exit" : "exec", e->pid, e->ppid,
	       e->exit_code, e->comm);
	return 0;
}

static pid_t spawn_true(int gate_fd)
{
	pid_t pid = fork();

	if (pid == 0) {
		char c;

		if (gate_fd >= 0 && read(gate_fd, &c, 1) != 1)
			_exit(111);
		execl("/bin/true", "true", (char *)NULL);
		_exit(112);
	}
	return pid;
}

static int die(const char *what, int err)
{
	fprintf(stderr, "bootstrap_user: %s: %s\n", what, strerror(err < 0 ? -err : err));
	return 1;
}

int main(int argc, char **argv)
{
	int filter = argc > 1 && strcmp(argv[1], "--filter") == 0;
	struct bootstrap_bpf *skel;
	struct ring_buffer *rb;
	pid_t kids[4], target = -1;
	int gate[2] = { -1, -1 }, nkids = 0, err, i;
	struct timespec t0, now;

	if (filter) {
		if (pipe(gate))
			return die("pipe", errno);
		target = spawn_true(gate[0]);
		if (target < 0)
			return die("fork", errno);
		printf("target %d\n", target);
	}

	skel = bootstrap_bpf__open();
	if (!skel)
		return die("open", errno);
	skel->rodata->targ_pid = filter ? target : 0;
	err = bootstrap_bpf__load(skel);
	if (err)
		return die("load", err);
	err = bootstrap_bpf__attach(skel);
	if (err)
		return die("attach", err);
	rb = ring_buffer__new(bpf_map__fd(skel->maps.rb), on_event, NULL, NULL);
	if (!rb)
		return die("ring_buffer__new", errno);

	for (i = 0; i < 3; i++) {
		kids[nkids] = spawn_true(-1);
		if (kids[nkids] < 0)
			return die("fork", errno);
		printf("child %d\n", kids[nkids++]);
	}
	if (filter) {
		if (write(gate[1], "g", 1) != 1)
			return die("write", errno);
		kids[nkids++] = target;
	}
	for (i = 0; i < nkids; i++)
		waitpid(kids[i], NULL, 0);

	/* Events arrive asynchronously; drain for a while after the last exit. */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		err = ring_buffer__poll(rb, 100);
		if (err < 0 && err != -EINTR)
			return die("ring_buffer__poll", err);
		clock_gettime(CLOCK_MONOTONIC, &now);
	} while (now.tv_sec - t0.tv_sec < 1);

	printf("received %llu\n", received);
	printf("events_seen %llu\n", (unsigned long long)skel->bss->events_seen);
	ring_buffer__free(rb);
	bootstrap_bpf__destroy(skel);
	return 0;
}
