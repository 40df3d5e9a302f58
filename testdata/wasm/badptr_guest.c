// SPDX-License-Identifier: MIT
/* Calls every wasm_bpf import with out-of-range pointers and lengths and prints what each
 * returned as `name=value`; the host must answer with errnos and keep running. */
#include <stdio.h>

#include "bootstrap_bpf.skel.h"

#define BAD ((void *)0xfffff000u)

static int sample(void *ctx, void *data, size_t size)
{
	(void)ctx;
	(void)data;
	(void)size;
	return 0;
}

#define SHOW(name, expr) printf("%s=%lld\n", name, (long long)(expr))

int main(void)
{
	struct bootstrap_bpf *skel = bootstrap_bpf__open_and_load();
	static char buf[256];
	unsigned int key = 0;
	unsigned long long value = 0;
	bpf_object_skel obj;
	int fd, rb;

	if (!skel)
		return 10;
	obj = skel->skeleton->obj;
	fd = bpf_map__fd(skel->maps.exec_start);
	rb = bpf_map__fd(skel->maps.rb);
	if (fd < 0 || rb < 0)
		return 11;
	SHOW("load_bad_buf", wasm_load_bpf_object(BAD, 4096));
	SHOW("load_neg_len", wasm_load_bpf_object(buf, -1));
	SHOW("load_garbage", wasm_load_bpf_object(buf, sizeof(buf)));
	SHOW("attach_bad_name", wasm_attach_bpf_program(obj, BAD, NULL));
	SHOW("attach_bad_target", wasm_attach_bpf_program(obj, "handle_exec", BAD));
	SHOW("attach_no_prog", wasm_attach_bpf_program(obj, "no_such_prog", NULL));
	SHOW("attach_bad_obj", wasm_attach_bpf_program(obj + 1000, "handle_exec", NULL));
	SHOW("fd_bad_name", wasm_bpf_map_fd_by_name(obj, BAD));
	SHOW("fd_no_map", wasm_bpf_map_fd_by_name(obj, "no_such_map"));
	SHOW("op_bad_key", wasm_bpf_map_operate(fd, BPF_MAP_LOOKUP_ELEM, BAD, &value, NULL, 0));
	SHOW("op_bad_value", wasm_bpf_map_operate(fd, BPF_MAP_LOOKUP_ELEM, &key, BAD, NULL, 0));
	SHOW("op_update_bad_value",
	     wasm_bpf_map_operate(fd, BPF_MAP_UPDATE_ELEM, &key, BAD, NULL, 0));
	SHOW("op_delete_bad_key", wasm_bpf_map_operate(fd, BPF_MAP_DELETE_ELEM, BAD, NULL, NULL, 0));
	SHOW("op_bad_next_key",
	     wasm_bpf_map_operate(fd, BPF_MAP_GET_NEXT_KEY, NULL, NULL, BAD, 0));
	SHOW("op_bad_cmd", wasm_bpf_map_operate(fd, 99, &key, &value, NULL, 0));
	SHOW("op_bad_fd", wasm_bpf_map_operate(0, BPF_MAP_LOOKUP_ELEM, &key, &value, NULL, 0));
	SHOW("op_update_ok", wasm_bpf_map_operate(fd, BPF_MAP_UPDATE_ELEM, &key, &value, NULL, 0));
	SHOW("op_lookup_ok", wasm_bpf_map_operate(fd, BPF_MAP_LOOKUP_ELEM, &key, &value, NULL, 0));
	SHOW("poll_bad_data", wasm_bpf_buffer_poll(obj, rb, (int32_t)(uintptr_t)sample, 0, BAD,
						   4096, 10));
	SHOW("poll_neg_size", wasm_bpf_buffer_poll(obj, rb, (int32_t)(uintptr_t)sample, 0, buf,
						   -5, 10));
	SHOW("poll_bad_fn", wasm_bpf_buffer_poll(obj, rb, 0x7fffffff, 0, buf, sizeof(buf), 10));
	SHOW("poll_not_buffer", wasm_bpf_buffer_poll(obj, fd, (int32_t)(uintptr_t)sample, 0, buf,
						     sizeof(buf), 10));
	SHOW("poll_ok", wasm_bpf_buffer_poll(obj, rb, (int32_t)(uintptr_t)sample, 0, buf,
					     sizeof(buf), 10));
	SHOW("close_bad_obj", wasm_close_bpf_object(obj + 1000));
	bootstrap_bpf__destroy(skel);
	printf("survived\n");
	return 0;
}
