// SPDX-License-Identifier: MIT
/* A perf-buffer guest for perf.bpf.c: prints `pid comm` for each exec. */
#include <stdio.h>

#include "perf_bpf.skel.h"

struct event {
	int pid;
	int old_pid;
	char comm[16];
};

static int handle_event(void *ctx, void *data, size_t size)
{
	const struct event *e = data;

	(void)ctx;
	if (size < sizeof(*e))
		return 0;
	printf("%d %.16s\n", e->pid, e->comm);
	fflush(stdout);
	return 0;
}

int main(void)
{
	struct perf_bpf *skel = perf_bpf__open_and_load();
	struct bpf_buffer *pb;

	if (!skel || perf_bpf__attach(skel))
		return 10;
	pb = bpf_buffer__open(skel->maps.events, handle_event, NULL);
	if (!pb)
		return 11;
	fprintf(stderr, "perf_guest: attached\n");
	while (bpf_buffer__poll(pb, 100) >= 0)
		;
	return 12;
}
