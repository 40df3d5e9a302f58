/* SPDX-License-Identifier: MIT */
/* libbpf-wasm.h: ecc's guest SDK for Wasm user-space programs of eBPF programs.
 *
 * A `wasm-bpftool gen skeleton -j` skeleton includes this header. Everything here is an
 * inline function over the host imports of module "wasm_bpf", which `ecc run app.wasm`
 * (and the wasm-bpf runtime) provide; the API follows the wasm-bpf guest SDK, so code
 * written against that SDK builds unchanged. Build guests with `ecc build-wasm`.
 *
 * Outside wasm32 (tests that build a skeleton natively) the imports are plain extern
 * declarations that the test links against its own stand-ins. */
#ifndef _LIBBPF_WASM_H
#define _LIBBPF_WASM_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

/* How long bpf_buffer__poll waits when asked for 0 or a negative time. */
#ifndef POLL_TIMEOUT_MS
#define POLL_TIMEOUT_MS 100
#endif

/* The largest sample bpf_buffer__poll hands to the callback; longer ones are cut. */
#ifndef LIBBPF_WASM_SAMPLE_MAX
#define LIBBPF_WASM_SAMPLE_MAX 65536
#endif

/* An opaque handle to the host's loaded bpf_object. */
typedef uint64_t bpf_object_skel;

#ifdef __wasm__
#define LIBBPF_WASM_IMPORT(name) __attribute__((import_module("wasm_bpf"), import_name(name)))
#else
#define LIBBPF_WASM_IMPORT(name)
#endif

/* The host ABI. Pointers are guest addresses; every range is checked by the host. */

/* Opens and loads the ELF at [obj_buf, obj_buf + obj_buf_sz); 0 on failure. */
LIBBPF_WASM_IMPORT("wasm_load_bpf_object")
bpf_object_skel wasm_load_bpf_object(const void *obj_buf, int obj_buf_sz);
/* Attaches program `name`: to the cgroup path (sockops) or interface (xdp) in
 * `attach_target` when it is given and not empty, else by its section. */
LIBBPF_WASM_IMPORT("wasm_attach_bpf_program")
int wasm_attach_bpf_program(bpf_object_skel obj, const char *name, const char *attach_target);
/* Polls the ring or perf buffer of map `fd`; each sample is copied to `data` (at most
 * `max_size` bytes) and passed to the table function `sample_func`. Returns the number of
 * samples or a negative errno. */
LIBBPF_WASM_IMPORT("wasm_bpf_buffer_poll")
int wasm_bpf_buffer_poll(bpf_object_skel obj, int fd, int32_t sample_func, uint32_t ctx,
			 char *data, int max_size, int timeout_ms);
/* The fd of the map called `name`, negative if there is none. */
LIBBPF_WASM_IMPORT("wasm_bpf_map_fd_by_name")
int wasm_bpf_map_fd_by_name(bpf_object_skel obj, const char *name);
/* A BPF_MAP_* command on map `fd`; 0 or a negative errno. */
LIBBPF_WASM_IMPORT("wasm_bpf_map_operate")
int wasm_bpf_map_operate(int fd, int cmd, void *key, void *value, void *next_key, uint64_t flags);
/* Detaches and closes everything of `obj`. */
LIBBPF_WASM_IMPORT("wasm_close_bpf_object")
int wasm_close_bpf_object(bpf_object_skel obj);

#undef LIBBPF_WASM_IMPORT

/* The kernel's command numbers, limited to the map operations the host allows. */
enum bpf_cmd {
	BPF_MAP_LOOKUP_ELEM = 1,
	BPF_MAP_UPDATE_ELEM = 2,
	BPF_MAP_DELETE_ELEM = 3,
	BPF_MAP_GET_NEXT_KEY = 4,
};

/* Flags of BPF_MAP_UPDATE_ELEM. */
enum {
	BPF_ANY = 0,
	BPF_NOEXIST = 1,
	BPF_EXIST = 2,
	BPF_F_LOCK = 4,
};

#define LIBBPF_WASM_NAME_LEN 64
#define LIBBPF_WASM_TARGET_LEN 128

struct bpf_map {
	bpf_object_skel obj_ptr;
	char name[LIBBPF_WASM_NAME_LEN];
};

struct bpf_program {
	bpf_object_skel obj_ptr;
	char name[LIBBPF_WASM_NAME_LEN];
	char attach_target[LIBBPF_WASM_TARGET_LEN];
	bool autoattach;
};

struct bpf_object;
struct bpf_object_open_opts;

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
	/* ELF file offsets of .rodata and .bss in `data`. */
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

static inline struct bpf_map_skeleton *libbpf_wasm__map_skel(struct bpf_object_skeleton *s,
							     int i)
{
	return (struct bpf_map_skeleton *)((char *)s->maps + (size_t)i * (size_t)s->map_skel_sz);
}

static inline struct bpf_prog_skeleton *libbpf_wasm__prog_skel(struct bpf_object_skeleton *s,
							       int i)
{
	return (struct bpf_prog_skeleton *)((char *)s->progs +
					    (size_t)i * (size_t)s->prog_skel_sz);
}

static inline bool libbpf_wasm__ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && strcmp(s + n - m, suffix) == 0;
}

static inline void libbpf_wasm__copy_name(char *dst, size_t cap, const char *src)
{
	size_t n = strlen(src);

	if (n >= cap)
		n = cap - 1;
	memcpy(dst, src, n);
	dst[n] = '\0';
}

/* Allocates the map and program handles, and points the .rodata map's `mmaped` into the
 * embedded ELF, so writes through skel->rodata before load patch the object the host
 * loads. Other data sections get zeroed guest memory (the host ABI cannot map them). */
static inline int bpf_object__open_skeleton(struct bpf_object_skeleton *s,
					    const struct bpf_object_open_opts *opts)
{
	int i;

	(void)opts;
	if (!s || !s->data || !s->data_sz || s->map_skel_sz < (int)sizeof(struct bpf_map_skeleton) ||
	    s->prog_skel_sz < (int)sizeof(struct bpf_prog_skeleton))
		return -EINVAL;
	for (i = 0; i < s->map_cnt; i++) {
		struct bpf_map_skeleton *m = libbpf_wasm__map_skel(s, i);

		*m->map = (struct bpf_map *)calloc(1, sizeof(struct bpf_map));
		if (!*m->map)
			return -ENOMEM;
		libbpf_wasm__copy_name((*m->map)->name, sizeof((*m->map)->name), m->name);
		if (!m->mmaped)
			continue;
		if (libbpf_wasm__ends_with(m->name, ".rodata") && s->rodata_offset < s->data_sz)
			*m->mmaped = (char *)s->data + s->rodata_offset;
		else
			*m->mmaped = calloc(1, 1 << 16);
		if (!*m->mmaped)
			return -ENOMEM;
	}
	for (i = 0; i < s->prog_cnt; i++) {
		struct bpf_prog_skeleton *p = libbpf_wasm__prog_skel(s, i);

		*p->prog = (struct bpf_program *)calloc(1, sizeof(struct bpf_program));
		if (!*p->prog)
			return -ENOMEM;
		libbpf_wasm__copy_name((*p->prog)->name, sizeof((*p->prog)->name), p->name);
		(*p->prog)->autoattach = true;
	}
	return 0;
}

/* Hands the (patched) ELF to the host, which opens and loads it. */
static inline int bpf_object__load_skeleton(struct bpf_object_skeleton *s)
{
	int i;

	if (!s || !s->data || !s->data_sz)
		return -EINVAL;
	s->obj = wasm_load_bpf_object(s->data, (int)s->data_sz);
	if (!s->obj)
		return -EINVAL;
	for (i = 0; i < s->map_cnt; i++) {
		struct bpf_map_skeleton *m = libbpf_wasm__map_skel(s, i);

		if (*m->map)
			(*m->map)->obj_ptr = s->obj;
	}
	for (i = 0; i < s->prog_cnt; i++) {
		struct bpf_prog_skeleton *p = libbpf_wasm__prog_skel(s, i);

		if (*p->prog)
			(*p->prog)->obj_ptr = s->obj;
	}
	return 0;
}

/* Attaches every program left to auto-attach; the first failure is returned. */
static inline int bpf_object__attach_skeleton(struct bpf_object_skeleton *s)
{
	int i, err;

	if (!s || !s->obj)
		return -EINVAL;
	for (i = 0; i < s->prog_cnt; i++) {
		struct bpf_program *prog = *libbpf_wasm__prog_skel(s, i)->prog;

		if (!prog || !prog->autoattach)
			continue;
		err = wasm_attach_bpf_program(s->obj, prog->name,
					      prog->attach_target[0] ? prog->attach_target : NULL);
		if (err < 0)
			return err;
	}
	return 0;
}

/* The host detaches when the object is closed (destroy). */
static inline void bpf_object__detach_skeleton(struct bpf_object_skeleton *s)
{
	(void)s;
}

static inline void bpf_object__destroy_skeleton(struct bpf_object_skeleton *s)
{
	int i;

	if (!s)
		return;
	if (s->obj)
		wasm_close_bpf_object(s->obj);
	for (i = 0; s->maps && i < s->map_cnt; i++) {
		struct bpf_map_skeleton *m = libbpf_wasm__map_skel(s, i);

		if (m->mmaped && *m->mmaped && !libbpf_wasm__ends_with(m->name, ".rodata"))
			free(*m->mmaped);
		free(*m->map);
	}
	for (i = 0; s->progs && i < s->prog_cnt; i++)
		free(*libbpf_wasm__prog_skel(s, i)->prog);
	free(s->maps);
	free(s->progs);
	free(s);
}

/* Where a program attaches: a cgroup path for sockops, an interface name for xdp. */
static inline void bpf_set_prog_attach_target(struct bpf_program *prog, const char *target)
{
	libbpf_wasm__copy_name(prog->attach_target, sizeof(prog->attach_target), target);
}

static inline int bpf_program__set_attach_target(struct bpf_program *prog, int attach_prog_fd,
						 const char *attach_func_name)
{
	if (attach_prog_fd)
		return -EOPNOTSUPP;
	bpf_set_prog_attach_target(prog, attach_func_name ? attach_func_name : "");
	return 0;
}

static inline int bpf_program__set_autoattach(struct bpf_program *prog, bool autoattach)
{
	prog->autoattach = autoattach;
	return 0;
}

/* The host loads every program of the object; as in the wasm-bpf SDK, this only decides
 * whether bpf_object__attach_skeleton attaches it. */
static inline int bpf_program__set_autoload(struct bpf_program *prog, bool autoload)
{
	return bpf_program__set_autoattach(prog, autoload);
}

static inline int bpf_map__fd(const struct bpf_map *map)
{
	if (!map || !map->obj_ptr)
		return -EINVAL;
	return wasm_bpf_map_fd_by_name(map->obj_ptr, map->name);
}

static inline const char *bpf_map__name(const struct bpf_map *map)
{
	return map->name;
}

static inline const char *bpf_program__name(const struct bpf_program *prog)
{
	return prog->name;
}

/* Ring and perf buffers: the host builds the right kind for the map on the first poll. */
typedef int (*bpf_buffer_sample_fn)(void *ctx, void *data, size_t size);

struct bpf_buffer {
	struct bpf_map *events;
	int fd;
	void *ctx;
	bpf_buffer_sample_fn sample_fn;
	char *data;
};

static inline struct bpf_buffer *bpf_buffer__new(struct bpf_map *events)
{
	struct bpf_buffer *b;

	if (!events)
		return NULL;
	b = (struct bpf_buffer *)calloc(1, sizeof(*b));
	if (b)
		b->events = events;
	return b;
}

static inline struct bpf_buffer *bpf_buffer__open(struct bpf_map *events,
						  bpf_buffer_sample_fn sample_cb, void *ctx)
{
	struct bpf_buffer *b = bpf_buffer__new(events);

	if (!b)
		return NULL;
	b->fd = bpf_map__fd(events);
	b->sample_fn = sample_cb;
	b->ctx = ctx;
	b->data = (char *)malloc(LIBBPF_WASM_SAMPLE_MAX);
	if (b->fd < 0 || !sample_cb || !b->data) {
		free(b->data);
		free(b);
		return NULL;
	}
	return b;
}

/* Delivers every sample that arrives within `timeout_ms` to the callback, in order.
 * Returns the number of samples or a negative errno. */
static inline int bpf_buffer__poll(struct bpf_buffer *b, int timeout_ms)
{
	if (!b || !b->sample_fn || !b->data)
		return -EINVAL;
	if (timeout_ms <= 0)
		timeout_ms = POLL_TIMEOUT_MS;
	return wasm_bpf_buffer_poll(b->events->obj_ptr, b->fd,
				    (int32_t)(uintptr_t)b->sample_fn, (uint32_t)(uintptr_t)b->ctx,
				    b->data, LIBBPF_WASM_SAMPLE_MAX, timeout_ms);
}

static inline void bpf_buffer__free(struct bpf_buffer *b)
{
	if (!b)
		return;
	free(b->data);
	free(b);
}

/* Map operations by fd, as in libbpf's bpf.h: 0 or a negative errno. */
static inline int bpf_map_lookup_elem(int fd, const void *key, void *value)
{
	return wasm_bpf_map_operate(fd, BPF_MAP_LOOKUP_ELEM, (void *)key, value, NULL, 0);
}

static inline int bpf_map_lookup_elem_flags(int fd, const void *key, void *value,
					    uint64_t flags)
{
	return wasm_bpf_map_operate(fd, BPF_MAP_LOOKUP_ELEM, (void *)key, value, NULL, flags);
}

static inline int bpf_map_update_elem(int fd, const void *key, const void *value,
				      uint64_t flags)
{
	return wasm_bpf_map_operate(fd, BPF_MAP_UPDATE_ELEM, (void *)key, (void *)value, NULL,
				    flags);
}

static inline int bpf_map_delete_elem(int fd, const void *key)
{
	return wasm_bpf_map_operate(fd, BPF_MAP_DELETE_ELEM, (void *)key, NULL, NULL, 0);
}

static inline int bpf_map_delete_elem_flags(int fd, const void *key, uint64_t flags)
{
	return wasm_bpf_map_operate(fd, BPF_MAP_DELETE_ELEM, (void *)key, NULL, NULL, flags);
}

/* `key` NULL gives the first key; -ENOENT after the last. */
static inline int bpf_map_get_next_key(int fd, const void *key, void *next_key)
{
	return wasm_bpf_map_operate(fd, BPF_MAP_GET_NEXT_KEY, (void *)key, NULL, next_key, 0);
}

#ifdef __cplusplus
}
#endif

#endif /* _LIBBPF_WASM_H */
