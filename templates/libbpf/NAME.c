// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* {{NAME}}: loads {{NAME}}.bpf.o through its skeleton, prints one line per exec and, at
 * exit, the histogram of process lifetimes. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/libbpf.h>
#include "{{NAME}}.h"
#include "{{NAME}}.skel.h"

static volatile sig_atomic_t exiting;

static void on_signal(int sig)
{
	(void)sig;
	exiting = 1;
}

static int on_event(void *ctx, void *data, size_t size)
{
	const struct event *e = data;

	(void)ctx;
	if (size < sizeof(*e))
		return 0;
	printf("%-8d %-8d %-16s %s\n", e->pid, e->ppid, e->comm, e->filename);
	fflush(stdout);
	return 0;
}

static void print_hist(struct {{NAME}}_bpf *skel)
{
	unsigned int key = 0, i;
	struct hist h;

	if (bpf_map__lookup_elem(skel->maps.lifetimes, &key, sizeof(key), &h, sizeof(h), 0))
		return; /* no process exited */
	printf("%24s : count\n", "lifetime (usecs)");
	for (i = 0; i < MAX_SLOTS; i++)
		if (h.slots[i])
			printf("%10llu -> %-10llu : %u\n", i ? 1ULL << i : 0ULL,
			       (1ULL << (i + 1)) - 1, h.slots[i]);
}

static int fail(const char *what, int err)
{
	fprintf(stderr, "{{NAME}}: error: %s: %s\n", what, strerror(err < 0 ? -err : err));
	return 1;
}

int main(int argc, char **argv)
{
	struct {{NAME}}_bpf *skel;
	struct ring_buffer *rb;
	double seconds = 0;
	long ppid = 0;
	int opt, err;
	struct timespec t0, now;

	while ((opt = getopt(argc, argv, "p:d:h")) != -1) {
		switch (opt) {
		case 'p':
			ppid = strtol(optarg, NULL, 10);
			break;
		case 'd':
			seconds = strtod(optarg, NULL);
			break;
		default:
			fprintf(stderr, "usage: %s [-p PPID] [-d SECONDS]\n"
				"  -p PPID     only report children of this process id\n"
				"  -d SECONDS  stop after SECONDS (default: at Ctrl-C)\n", argv[0]);
			return opt == 'h' ? 0 : 2;
		}
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);

	skel = {{NAME}}_bpf__open();
	if (!skel)
		return fail("opening the BPF object", errno);
	skel->rodata->targ_ppid = (pid_t)ppid;
	err = {{NAME}}_bpf__load(skel);
	if (err)
		return fail("loading (root or CAP_BPF needed)", err);
	err = {{NAME}}_bpf__attach(skel);
	if (err)
		return fail("attaching", err);
	rb = ring_buffer__new(bpf_map__fd(skel->maps.events), on_event, NULL, NULL);
	if (!rb)
		return fail("ring_buffer__new", errno);

	printf("%-8s %-8s %-16s %s\n", "PID", "PPID", "COMM", "FILENAME");
	fflush(stdout);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (!exiting) {
		err = ring_buffer__poll(rb, 100);
		if (err < 0 && err != -EINTR)
			return fail("ring_buffer__poll", err);
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (seconds > 0 &&
		    (now.tv_sec - t0.tv_sec) + (now.tv_nsec - t0.tv_nsec) / 1e9 >= seconds)
			break;
	}
	print_hist(skel);
	ring_buffer__free(rb);
	{{NAME}}_bpf__destroy(skel);
	return 0;
}
