/* SPDX-License-Identifier: MIT */
/* Test-only libbpf-wasm.h: the types and functions of the wasm-bpf guest SDK that a
 * `wasm-bpftool gen skeleton -j` skeleton and its user code use, declared from the shapes
 * in the project's Wasm spec. Declarations only; a wasm32 link leaves the functions as
 * imports (--allow-undefined), and stub_host.c implements the skeleton ones natively. */
#ifndef ECC_TEST_LIBBPF_WASM_H
#define ECC_TEST_LIBBPF_WASM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* An opaque handle to the host's bpf_object. */
typedef uint64_t bpf_object_skel;

struct bpf_map;
struct bpf_program;
struct bpf_object;
struct bpf_object_open_opts;
struct bpf_buffer;

struct bpf_map_skeleton {
	const char *name;
	struct bpf_map **map;
	void **mmaped;
};

struct bpf_prog_skeleton {
	const char *name;
	struct bpf_program **prog;
};

struct bpf_object_skeleton {
	size_t sz;
	const char *name;
	void *data;
	size_t data_sz;
	size_t rodata_offset;
	size_t bss_offset;
	bpf_object_skel obj;
	int map_cnt;
	int map_skel_sz;
	struct bpf_map_skeleton *maps;
	int prog_cnt;
	int prog_skel_sz;
	struct bpf_prog_skeleton *progs;
};

int bpf_object__open_skeleton(struct bpf_object_skeleton *s,
			      const struct bpf_object_open_opts *opts);
int bpf_object__load_skeleton(struct bpf_object_skeleton *s);
int bpf_object__attach_skeleton(struct bpf_object_skeleton *s);
void bpf_object__detach_skeleton(struct bpf_object_skeleton *s);
void bpf_object__destroy_skeleton(struct bpf_object_skeleton *s);

int bpf_map__fd(const struct bpf_map *map);

typedef int (*bpf_buffer_sample_fn)(void *ctx, void *data, size_t size);
struct bpf_buffer *bpf_buffer__open(struct bpf_map *events, bpf_buffer_sample_fn sample_cb,
				    void *ctx);
int bpf_buffer__poll(struct bpf_buffer *buffer, int timeout_ms);
void bpf_buffer__free(struct bpf_buffer *buffer);

int bpf_map_lookup_elem(int fd, const void *key, void *value);
int bpf_map_update_elem(int fd, const void *key, const void *value, uint64_t flags);
int bpf_map_delete_elem(int fd, const void *key);
int bpf_map_get_next_key(int fd, const void *key, void *next_key);

#ifdef __cplusplus
}
#endif

#endif /* ECC_TEST_LIBBPF_WASM_H */
