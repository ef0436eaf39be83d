// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "ksym-names.h"

/* Lines are at most "ADDR " + a 512-byte name + offsets + " [MODULE]": 1 KiB each. */
#define KSYM_LINE_MAX 1024

/* An array map of the n addresses, filled through its mapping: its fd, or -errno. */
static int addr_map(const uint64_t *addrs, size_t n)
{
	LIBBPF_OPTS(bpf_map_create_opts, o, .map_flags = BPF_F_MMAPABLE);
	size_t bytes = (n * sizeof(*addrs) + 4095) & ~(size_t)4095;
	void *mem;
	int fd;

	if (!n || n > UINT32_MAX / sizeof(*addrs))
		return -EINVAL;
	fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "pmuprof_kaddrs", sizeof(uint32_t), sizeof(*addrs),
			    (uint32_t)n, &o);
	if (fd < 0)
		return -errno;
	mem = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (mem == MAP_FAILED) {
		int err = -errno;

		close(fd);
		return err;
	}
	memcpy(mem, addrs, n * sizeof(*addrs));
	munmap(mem, bytes);
	return fd;
}

/* Everything fd reads, into *text: 0 or -errno. */
static int read_all(int fd, size_t cap, char **text, size_t *len)
{
	char *buf = malloc(cap + 1), *tmp;
	size_t have = 0;

	while (buf) {
		ssize_t got;

		if (cap - have < KSYM_LINE_MAX) {
			tmp = realloc(buf, cap * 2 + 1);
			if (!tmp)
				break;
			buf = tmp;
			cap *= 2;
		}
		got = read(fd, buf + have, cap - have);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			int err = -errno;

			free(buf);
			return err;
		}
		if (!got) {
			buf[have] = 0;
			*text = buf;
			*len = have;
			return 0;
		}
		have += (size_t)got;
	}
	free(buf);
	return -ENOMEM;
}

int ksym_names__load(const struct bpf_program *prog, uint32_t btf_id, char *log, size_t log_sz)
{
	LIBBPF_OPTS(bpf_prog_load_opts, o, .expected_attach_type = BPF_TRACE_ITER,
		    .attach_btf_id = btf_id, .log_buf = log, .log_size = (uint32_t)log_sz);
	int fd;

	if (!btf_id)
		return -ENOENT;
	if (log && log_sz)
		log[0] = 0;
	fd = bpf_prog_load(BPF_PROG_TYPE_TRACING, bpf_program__name(prog), "GPL",
			   bpf_program__insns(prog), bpf_program__insn_cnt(prog), &o);
	return fd < 0 ? -errno : fd;
}

int ksym_names__read(int prog_fd, const uint64_t *addrs, size_t n, char **text, size_t *len)
{
	union bpf_iter_link_info info = {0};
	LIBBPF_OPTS(bpf_link_create_opts, o, .iter_info = &info, .iter_info_len = sizeof(info));
	int map_fd, link_fd, fd, err;

	map_fd = addr_map(addrs, n);
	if (map_fd < 0)
		return map_fd;
	info.map.map_fd = (uint32_t)map_fd;
	link_fd = bpf_link_create(prog_fd, 0, BPF_TRACE_ITER, &o);
	err = link_fd < 0 ? -errno : 0;
	close(map_fd); /* the link holds the map */
	if (err)
		return err;
	fd = bpf_iter_create(link_fd);
	err = fd < 0 ? -errno : read_all(fd, n * 64 + KSYM_LINE_MAX, text, len);
	if (fd >= 0)
		close(fd);
	close(link_fd);
	return err;
}
