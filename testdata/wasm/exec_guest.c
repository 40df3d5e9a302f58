// SPDX-License-Identifier: MIT
/* An exec/exit tracer guest for bootstrap.bpf.c: `exec_guest [COMM [once]]` traces only
 * COMM (set through skel->rodata before load; "" traces all) and prints each ring-buffer
 * event as a JSON line with the fields `ecc run --json` prints, until the host stops it;
 * with `once` it exits after its first poll (for start-up benchmarks). */
#include <stdio.h>
#include <string.h>

#include "bootstrap_bpf.skel.h"

/* The event as BPF lays it out. */
struct event {
	int pid;
	int ppid;
	unsigned int exit_code;
	char __pad0[4];
	unsigned long long duration_ns;
	char comm[16];
	char filename[127];
	_Bool exit_event;
} __attribute__((packed));
_Static_assert(sizeof(struct event) == 168, "event layout");

static int handle_event(void *ctx, void *data, size_t size)
{
	const struct event *e = data;
	unsigned long *count = ctx;

	if (size < sizeof(*e))
		return 0;
	(*count)++;
	printf("{\"pid\":%d,\"ppid\":%d,\"exit_code\":%u,\"comm\":\"%.16s\",\"filename\":\"%.127s\","
	       "\"exit_event\":%s}\n",
	       e->pid, e->ppid, e->exit_code, e->comm, e->filename,
	       e->exit_event ? "true" : "false");
	return 0;
}

int main(int argc, char **argv)
{
	struct bootstrap_bpf *skel;
	struct bpf_buffer *rb;
	unsigned long count = 0;
	int err;

	skel = bootstrap_bpf__open();
	if (!skel)
		return 10;
	if (argc > 1 && argv[1][0])
		strncpy((char *)skel->rodata->targ_comm, argv[1], sizeof(skel->rodata->targ_comm) - 1);
	err = bootstrap_bpf__load(skel);
	if (err) {
		fprintf(stderr, "load failed: %d\n", err);
		return 11;
	}
	err = bootstrap_bpf__attach(skel);
	if (err) {
		fprintf(stderr, "attach failed: %d\n", err);
		return 12;
	}
	rb = bpf_buffer__open(skel->maps.rb, handle_event, &count);
	if (!rb)
		return 13;
	fprintf(stderr, "exec_guest: attached\n");
	if (argc > 2 && strcmp(argv[2], "once") == 0)
		return bpf_buffer__poll(rb, 1) < 0;
	for (;;) {
		err = bpf_buffer__poll(rb, 1000);
		if (err < 0) {
			fprintf(stderr, "poll failed: %d\n", err);
			break;
		}
		fflush(stdout);
	}
	bpf_buffer__free(rb);
	bootstrap_bpf__destroy(skel);
	return 14;
}
