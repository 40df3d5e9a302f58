/* Test helper: opens a BPF object from memory with libbpf, the way the eunomia runtime does
 * (bpf_object__open_mem with opts.object_name), and prints what libbpf sees:
 *   name <object name>
 *   map <name>            one per map, in libbpf order
 *   prog <name> <section> one per program, in libbpf order
 *   load ok | load error <errno>   (only with the "load" argument)
 * usage: list_object FILE OBJ_NAME [load] */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/libbpf.h>

static int print_warnings(enum libbpf_print_level level, const char *fmt, va_list args)
{
	if (level == LIBBPF_DEBUG || level == LIBBPF_INFO)
		return 0;
	return vfprintf(stderr, fmt, args);
}

int main(int argc, char **argv)
{
	struct bpf_object *obj;
	struct bpf_program *prog;
	struct bpf_map *map;
	FILE *f;
	char *buf;
	long size;

	if (argc < 3) {
		fprintf(stderr, "usage: %s FILE OBJ_NAME [load]\n", argv[0]);
		return 2;
	}
	f = fopen(argv[1], "rb");
	if (!f || fseek(f, 0, SEEK_END) || (size = ftell(f)) < 0 || fseek(f, 0, SEEK_SET)) {
		perror(argv[1]);
		return 2;
	}
	buf = malloc(size ? size : 1);
	if (!buf || fread(buf, 1, size, f) != (size_t)size) {
		perror(argv[1]);
		return 2;
	}
	fclose(f);
	libbpf_set_print(print_warnings);

	LIBBPF_OPTS(bpf_object_open_opts, opts, .object_name = argv[2]);
	obj = bpf_object__open_mem(buf, size, &opts);
	if (!obj) {
		fprintf(stderr, "bpf_object__open_mem: %s\n", strerror(errno));
		return 3;
	}
	printf("name %s\n", bpf_object__name(obj));
	bpf_object__for_each_map(map, obj)
		printf("map %s\n", bpf_map__name(map));
	bpf_object__for_each_program(prog, obj)
		printf("prog %s %s\n", bpf_program__name(prog), bpf_program__section_name(prog));
	if (argc > 3 && strcmp(argv[3], "load") == 0) {
		int err = bpf_object__load(obj);

		if (err)
			printf("load error %d\n", -err);
		else
			printf("load ok\n");
	}
	bpf_object__close(obj);
	free(buf);
	return 0;
}
