// SPDX-License-Identifier: MIT
/* A native stand-in for the wasm-bpf host imports, for tests that build a `-j` skeleton
 * and the SDK (sdk/libbpf-wasm.h) for x86_64, whose layout is target-independent by
 * construction, to check where writes through skel->rodata land. Nothing here loads BPF:
 * every import fails. */
#include "libbpf-wasm.h"

bpf_object_skel wasm_load_bpf_object(const void *obj_buf, int obj_buf_sz)
{
	(void)obj_buf;
	(void)obj_buf_sz;
	return 0;
}

int wasm_attach_bpf_program(bpf_object_skel obj, const char *name, const char *attach_target)
{
	(void)obj;
	(void)name;
	(void)attach_target;
	return -ENOSYS;
}

int wasm_bpf_buffer_poll(bpf_object_skel obj, int fd, int32_t sample_func, uint32_t ctx,
			 char *data, int max_size, int timeout_ms)
{
	(void)obj;
	(void)fd;
	(void)sample_func;
	(void)ctx;
	(void)data;
	(void)max_size;
	(void)timeout_ms;
	return -ENOSYS;
}

int wasm_bpf_map_fd_by_name(bpf_object_skel obj, const char *name)
{
	(void)obj;
	(void)name;
	return -ENOSYS;
}

int wasm_bpf_map_operate(int fd, int cmd, void *key, void *value, void *next_key, uint64_t flags)
{
	(void)fd;
	(void)cmd;
	(void)key;
	(void)value;
	(void)next_key;
	(void)flags;
	return -ENOSYS;
}

int wasm_close_bpf_object(bpf_object_skel obj)
{
	(void)obj;
	return 0;
}
