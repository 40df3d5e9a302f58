// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* {{NAME}}: user space as a WebAssembly guest, run by `ecc run app.wasm`. Loads
 * {{NAME}}.bpf.o through its Wasm skeleton, prints one line per exec and, when -d ends
 * the run, the histogram of process lifetimes. Ctrl-C stops the host and the guest. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include "{{NAME}}.skel.h" /* wasm-bpftool -j gen skeleton; includes libbpf-wasm.h */
#include "{{NAME}}.wasm.h" /* struct event, struct hist: the BPF layout, for wasm32 */

static int on_event(void *ctx, void *data, size_t size)
{
	const struct event *e = data;

	(void)ctx;
	if (size < sizeof(*e))
		return 0;
	printf("%-8d %-8d %-16s %s\n", e->pid, e->ppid, e->comm, e->filename);
	return 0;
}

static void print_hist(struct {{NAME}}_bpf *skel)
{
	unsigned int key = 0, i;
	struct hist h;

	if (bpf_map_lookup_elem(bpf_map__fd(skel->maps.lifetimes), &key, &h))
		return; /* no process exited */
	printf("%24s : count\n", "lifetime (usecs)");
	for (i = 0; i < sizeof(h.slots) / sizeof(h.slots[0]); i++)
		if (h.slots[i])
			printf("%10llu -> %-10llu : %u\n", i ? 1ULL << i : 0ULL,
			       (1ULL << (i + 1)) - 1, h.slots[i]);
}

static double since(const struct timespec *t0)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - t0->tv_sec) + (now.tv_nsec - t0->tv_nsec) / 1e9;
}

int main(int argc, char **argv)
{
	struct {{NAME}}_bpf *skel;
	struct bpf_buffer *rb;
	struct timespec t0;
	double seconds = 0;
	long ppid = 0;
	int opt, err;

	while ((opt = getopt(argc, argv, "p:d:h")) != -1) {
		switch (opt) {
		case 'p':
			ppid = strtol(optarg, NULL, 10);
			break;
		case 'd':
			seconds = strtod(optarg, NULL);
			break;
		default:
			fprintf(stderr, "usage: app.wasm [-p PPID] [-d SECONDS]\n"
				"  -p PPID     only report children of this process id\n"
				"  -d SECONDS  stop after SECONDS (default: at Ctrl-C)\n");
			return opt == 'h' ? 0 : 2;
		}
	}
	skel = {{NAME}}_bpf__open();
	if (!skel) {
		fprintf(stderr, "{{NAME}}: error: cannot open the BPF object\n");
		return 1;
	}
	/* .rodata is patched in the embedded object before it is loaded */
	skel->rodata->targ_ppid = ppid;
	err = {{NAME}}_bpf__load(skel);
	if (!err)
		err = {{NAME}}_bpf__attach(skel);
	rb = err ? NULL : bpf_buffer__open(skel->maps.events, on_event, NULL);
	if (!rb) {
		fprintf(stderr, "{{NAME}}: error: cannot load and attach (%d)\n", err);
		{{NAME}}_bpf__destroy(skel);
		return 1;
	}
	printf("%-8s %-8s %-16s %s\n", "PID", "PPID", "COMM", "FILENAME");
	clock_gettime(CLOCK_MONOTONIC, &t0);
	/* every event reaches on_event, in order */
	while ((err = bpf_buffer__poll(rb, 100)) >= 0) {
		fflush(stdout);
		if (seconds > 0 && since(&t0) >= seconds)
			break;
	}
	if (err < 0)
		fprintf(stderr, "{{NAME}}: error: polling the ring buffer: %d\n", err);
	print_hist(skel);
	bpf_buffer__free(rb);
	{{NAME}}_bpf__destroy(skel);
	return err < 0;
}
