// SPDX-License-Identifier: MIT
/* A map-reading guest for hist.bpf.c: `hist_guest SLOT N` walks the `hists` hash map with
 * bpf_map_get_next_key + bpf_map_lookup_elem every 100 ms until log2 slot SLOT holds N
 * process lifetimes, then prints the histogram (`slot count` lines) and exits. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "hist_bpf.skel.h"

#define MAX_SLOTS 26

struct hist {
	unsigned int slots[MAX_SLOTS];
};

int main(int argc, char **argv)
{
	int slot = argc > 1 ? atoi(argv[1]) : 0;
	unsigned long want = argc > 2 ? strtoul(argv[2], NULL, 10) : 1;
	struct hist_bpf *skel = hist_bpf__open_and_load();
	struct timespec tick = { 0, 100 * 1000 * 1000 };
	unsigned long long total = 0;
	unsigned int sum[MAX_SLOTS];
	int fd, keys, i;

	if (!skel || hist_bpf__attach(skel))
		return 10;
	fd = bpf_map__fd(skel->maps.hists);
	if (fd < 0)
		return 11;
	if (slot < 0 || slot >= MAX_SLOTS)
		return 12;
	fprintf(stderr, "hist_guest: attached\n");
	for (;;) {
		unsigned int key, next;
		const unsigned int *prev = NULL;
		struct hist h;

		nanosleep(&tick, NULL);
		total = 0;
		keys = 0;
		for (i = 0; i < MAX_SLOTS; i++)
			sum[i] = 0;
		while (bpf_map_get_next_key(fd, prev, &next) == 0) {
			if (bpf_map_lookup_elem(fd, &next, &h) == 0) {
				for (i = 0; i < MAX_SLOTS; i++) {
					sum[i] += h.slots[i];
					total += h.slots[i];
				}
			}
			keys++;
			key = next;
			prev = &key;
		}
		if (sum[slot] >= want)
			break;
	}
	printf("keys %d\n", keys);
	for (i = 0; i < MAX_SLOTS; i++)
		printf("%d %u\n", i, sum[i]);
	printf("total %llu\n", total);
	hist_bpf__destroy(skel);
	return 0;
}
