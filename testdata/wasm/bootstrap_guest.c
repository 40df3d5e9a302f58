// SPDX-License-Identifier: MIT
/* A wasm32 guest for bootstrap.bpf.c on the `gen skeleton -j` skeleton: sets .rodata
 * parameters, loads, attaches, and prints ring-buffer events for a few polls. */
#include <stdio.h>
#include <string.h>

#include "bootstrap_bpf.skel.h"

/* The event as BPF lays it out (pointers and longs would be 64-bit; there are none). */
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

	(void)ctx;
	if (size < sizeof(*e))
		return 0;
	printf("%-5s %-16s %d %d\n", e->exit_event ? "EXIT" : "EXEC", e->comm, e->pid, e->ppid);
	return 0;
}

int main(int argc, char **argv)
{
	struct bootstrap_bpf *skel;
	struct bpf_buffer *rb;
	int i, err;

	skel = bootstrap_bpf__open();
	if (!skel)
		return 1;
	skel->rodata->min_duration_ns = argc > 1 ? strtoull(argv[1], NULL, 10) : 0;
	skel->rodata->targ_pid = 0;
	memcpy(skel->rodata->targ_comm, "bash", 5);
	err = bootstrap_bpf__load(skel);
	if (!err)
		err = bootstrap_bpf__attach(skel);
	if (err)
		goto out;
	rb = bpf_buffer__open(skel->maps.rb, handle_event, NULL);
	if (!rb) {
		err = -1;
		goto out;
	}
	for (i = 0; i < 10 && err >= 0; i++)
		err = bpf_buffer__poll(rb, 100);
	printf("events seen: %llu\n", skel->bss->events_seen);
	bpf_buffer__free(rb);
out:
	bootstrap_bpf__destroy(skel);
	return err < 0 ? 1 : 0;
}
