/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Kernel BPF features pmuprof uses or degrades without, probed for real (a helper call, a
 * map type, a small program load) rather than guessed from the version: distributions
 * backport features, and a feature can be configured out.
 */
#ifndef PMUPROF_KFEATURE_H
#define PMUPROF_KFEATURE_H

enum kfeature_id {
	KFEATURE_PERF_LINK,	  /* BPF_LINK_CREATE on a perf event */
	KFEATURE_BPF_COOKIE,	  /* bpf_get_attach_cookie() in perf_event programs */
	KFEATURE_NO_PREALLOC,	  /* BPF_F_NO_PREALLOC hash maps in perf_event programs */
	KFEATURE_BPF_LOOP,	  /* bpf_loop() */
	KFEATURE_BATCH_OPS,	  /* BPF_MAP_LOOKUP_BATCH and friends on hash maps */
	KFEATURE_PROBE_READ_USER, /* bpf_probe_read_user() in perf_event programs */
	KFEATURE_BIG_KEYS,	  /* hash map keys over 512 bytes */
	KFEATURE_COUNT,
};

struct kfeature_info {
	const char *key;     /* JSON key, "perf_link" */
	const char *name;    /* for people, "perf bpf_link" */
	const char *since;   /* the mainline release that brought it, "5.15" */
	const char *without; /* what pmuprof does on a kernel without it */
};

const struct kfeature_info *kfeature__info(enum kfeature_id id);

/* 1 when the running kernel has the feature, 0 when not, -errno when the probe could not
 * tell (-EPERM: no CAP_BPF). */
int kfeature__probe(enum kfeature_id id);

#endif
