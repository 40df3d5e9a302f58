// SPDX-License-Identifier: MIT
/* A native stand-in for the wasm-bpf host side of the skeleton functions, for tests that
 * build a `-j` skeleton for x86_64 (its layout is target-independent by construction) and
 * check where writes through skel->rodata land. open_skeleton does what the guest SDK does
 * for global data: the .rodata map's mmaped points into the embedded ELF at
 * rodata_offset; other global-data maps get zeroed memory. */
#include <stdlib.h>
#include <string.h>

#include "libbpf-wasm.h"

static int ends_with(const char *s, const char *sfx)
{
	size_t n = strlen(s), m = strlen(sfx);

	return n >= m && strcmp(s + n - m, sfx) == 0;
}

int bpf_object__open_skeleton(struct bpf_object_skeleton *s,
			      const struct bpf_object_open_opts *opts)
{
	int i;

	(void)opts;
	if (s->sz != sizeof(*s) || s->map_skel_sz != sizeof(*s->maps) ||
	    s->prog_skel_sz != sizeof(*s->progs) || !s->data || !s->data_sz)
		return -22;
	for (i = 0; i < s->map_cnt; i++) {
		struct bpf_map_skeleton *m = &s->maps[i];

		if (!m->mmaped)
			continue;
		if (ends_with(m->name, ".rodata"))
			*m->mmaped = (char *)s->data + s->rodata_offset;
		else
			*m->mmaped = calloc(1, 1 << 16);
		if (!*m->mmaped)
			return -12;
	}
	return 0;
}

int bpf_object__load_skeleton(struct bpf_object_skeleton *s)
{
	(void)s;
	return 0;
}

int bpf_object__attach_skeleton(struct bpf_object_skeleton *s)
{
	(void)s;
	return 0;
}

void bpf_object__detach_skeleton(struct bpf_object_skeleton *s)
{
	(void)s;
}

void bpf_object__destroy_skeleton(struct bpf_object_skeleton *s)
{
	int i;

	if (!s)
		return;
	for (i = 0; s->maps && i < s->map_cnt; i++) {
		struct bpf_map_skeleton *m = &s->maps[i];

		if (m->mmaped && *m->mmaped && !ends_with(m->name, ".rodata"))
			free(*m->mmaped);
	}
	free(s->maps);
	free(s->progs);
	free(s);
}
