// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* User space for sections.bpf.c on a libbpf skeleton (ours or bpftool's):
 *
 *   sections_user            open only: print map names and initial values
 *   sections_user --load     also set .rodata, load, attach, exec /bin/true, print counters
 */
#include <stdio.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sections_bpf.skel.h"

int main(int argc, char **argv)
{
	int load = argc > 1 && strcmp(argv[1], "--load") == 0;
	struct sections_bpf *s = sections_bpf__open();
	pid_t pid;

	if (!s) {
		perror("sections_bpf__open");
		return 1;
	}
	printf("maps %s %s %s %s %s %s %s\n", bpf_map__name(s->maps.counts),
	       bpf_map__name(s->maps.rodata), bpf_map__name(s->maps.data),
	       bpf_map__name(s->maps.data_a_rather_long_custom_name),
	       bpf_map__name(s->maps.rodata_cfg), bpf_map__name(s->maps.rodata_str1_1),
	       bpf_map__name(s->maps.bss));
	printf("mmaped %d\n", s->rodata && s->data && s->data_a_rather_long_custom_name &&
				      s->rodata_cfg && s->rodata_str1_1 && s->bss);
	printf("initial %d %d %d %s %llu\n", s->rodata->ro_knob, s->data->data_counter,
	       s->data_a_rather_long_custom_name->custom_val, (const char *)s->rodata_cfg->ro_custom,
	       s->bss->bss_hits);
	if (load) {
		s->rodata->ro_knob = 7;
		if (sections_bpf__load(s) || sections_bpf__attach(s)) {
			perror("load/attach");
			return 2;
		}
		pid = fork();
		if (pid == 0) {
			execl("/bin/true", "true", (char *)NULL);
			_exit(1);
		}
		waitpid(pid, NULL, 0);
		printf("after %d %llu %d\n", s->rodata->ro_knob, s->bss->bss_hits,
		       s->data->data_counter);
	}
	sections_bpf__destroy(s);
	return 0;
}
