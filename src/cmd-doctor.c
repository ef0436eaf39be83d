// SPDX-License-Identifier: GPL-2.0
/* pmuprof doctor: what this machine can do, and what each collector will do here. */
#include <errno.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <json-c/json.h>
#include "cmd.h"
#include "util.h"
#include "collector.h"
#include "kfeature.h"
#include "symbolize/symbolize.h"

static const char doctor_usage[] =
	"Usage: pmuprof doctor [--binary PATH] [--json]\n"
	"\n"
	"Check the kernel, BTF, the BPF features pmuprof uses (probed, with what record\n"
	"does without each), the hardware and uncore PMUs,\n"
	"perf_event_paranoid, kptr_restrict, capabilities and the NMI watchdog, and say for\n"
	"each collector whether it will run here and how. With --binary, whether PATH has\n"
	"symbols, frame pointers and CFI (.eh_frame / .debug_frame: rows, text covered), and\n"
	"which user stacks it will get.\n"
	"\n"
	"  --binary PATH   also check this executable or library\n"
	"  --json          one JSON object\n"
	"  -h, --help      this help\n"
	"\n"
	"Examples:\n"
	"  pmuprof doctor\n"
	"  pmuprof doctor --binary ./myserver --json\n";

static bool virtualized(void)
{
	char line[4096];
	bool hv = false;
	FILE *f = fopen("/proc/cpuinfo", "re");

	if (!f)
		return false;
	while (!hv && fgets(line, sizeof(line), f))
		if (!strncmp(line, "flags", 5) && strstr(line, " hypervisor"))
			hv = true;
	fclose(f);
	return hv;
}

struct binary_report {
	bool checked, exists, fp_known, cfi_known;
	struct frame_census fp;
	int fp_err;
	bool fp_kept, fp_some; /* 90%, half of the functions that call others keep one */
	const char *symbols;
	struct unwind_stats cfi;
	size_t cfi_rows, cfi_bytes;
	int cfi_functions, functions_seen; /* functions whose first byte has a CFI rule */
	double cfi_coverage;		   /* share of executable bytes an FDE covers */
	const char *stacks;    /* --call-graph=dwarf: CFI tables, frame pointers elsewhere */
	const char *stacks_fp; /* --call-graph=fp */
	char fp_words[256];    /* the frame-pointer line */
	char stacks_fp_buf[256];
};

/* How many of the binary's functions (symbols) start inside an FDE. */
static void count_cfi_functions(const char *path, const struct unwind_table *t,
				struct binary_report *b)
{
	/* The toolchain's start-up helpers (crti, crtbegin) come without CFI everywhere. */
	static const char *const crt[] = {"_init",
					  "_fini",
					  "deregister_tm_clones",
					  "register_tm_clones",
					  "__do_global_dtors_aux",
					  "frame_dummy",
					  NULL};
	struct elf_syms *es = elf_syms__load(path);
	unsigned long addr, size;
	const char *name;
	size_t i, j;

	for (i = 0; (name = elf_syms__at(es, i, &addr, &size)); i++) {
		for (j = 0; crt[j] && strcmp(crt[j], name); j++)
			;
		if (crt[j])
			continue;
		b->functions_seen++;
		b->cfi_functions += unwind_table__lookup(t, addr) != UNWIND_RULE_FP;
	}
	elf_syms__free(es);
}

/* The binary's CFI compiled as the unwinder compiles it, and the stacks that gives. */
static void check_cfi(const char *path, struct binary_report *b)
{
	struct unwind_cache *c = unwind_cache__new();
	const struct unwind_row *rows;
	struct unwind_table *t = NULL;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);

	if (c && fd >= 0)
		t = unwind_cache__get(c, fd, -1);
	if (fd >= 0)
		close(fd);
	if (t) {
		b->cfi_known = true;
		b->cfi = *unwind_table__stats(t);
		b->cfi_rows = unwind_table__rows(t, &rows);
		b->cfi_bytes = unwind_table__memory(t);
		b->cfi_coverage =
			b->cfi.text_bytes ? (double)b->cfi.covered_bytes / b->cfi.text_bytes : 0;
		if (b->cfi_coverage > 1)
			b->cfi_coverage = 1; /* FDEs may overlap padding */
		count_cfi_functions(path, t, b);
	}
	unwind_cache__free(c);
	if (!b->cfi_known)
		b->stacks = "unknown: the CFI could not be read";
	else if (!b->cfi.source && b->fp_kept)
		b->stacks = "frame pointers only (no CFI): complete";
	else if (!b->cfi.source && b->fp_some)
		b->stacks = "frame pointers only (no CFI): partial where functions that call "
			    "others have none";
	else if (!b->cfi.source)
		b->stacks = "short: neither CFI nor frame pointers (rebuild with "
			    "-fno-omit-frame-pointer "
			    "or with unwind tables)";
	else if (b->functions_seen ? b->cfi_functions * 4 >= b->functions_seen * 3
				   : b->cfi_coverage >= 0.75) /* stripped: by the code covered */
		b->stacks =
			"complete from CFI tables (frame pointers where no FDE covers the code)";
	else if (b->fp_kept)
		b->stacks = "complete: frame pointers, CFI tables where they cover the code";
	else
		b->stacks = "partial: CFI covers little of the code and frame pointers are rare";
}

/*
 * What matters to a frame-pointer walk: the functions that call others (a leaf is found
 * from the sample's registers; GCC omits a leaf's frame even with
 * -fno-omit-frame-pointer, and Go's small leaves have none either).
 */
static void check_frame_pointers(const char *path, struct binary_report *b)
{
	const struct frame_census *c = &b->fp;
	int n;

	b->fp_err = frame_census__read(path, &b->fp);
	b->fp_known = !b->fp_err;
	b->fp_kept = b->fp_known && c->callers_with_fp * 10 >= c->callers * 9;
	b->fp_some = b->fp_known && c->callers_with_fp * 2 >= c->callers;
	if (b->fp_err == -EOPNOTSUPP) {
		snprintf(b->fp_words, sizeof(b->fp_words), "unknown (x86-64 binaries only)");
		return;
	}
	if (b->fp_err == -ELIBACC || b->fp_err == -ELIBBAD) {
		char why[200];

		snprintf(b->fp_words, sizeof(b->fp_words), "unknown: %s",
			 frame_census__lib_strerror(why, sizeof(why)));
		return;
	}
	if (!b->fp_known) {
		snprintf(b->fp_words, sizeof(b->fp_words), "unknown: %s",
			 b->fp_err == -ENODATA ? "no symbol table and no .eh_frame_hdr say where "
						 "its functions start"
					       : strerror(-b->fp_err));
		return;
	}
	n = snprintf(b->fp_words, sizeof(b->fp_words),
		     "%d of %d functions that call others set one up (%.0f%%); %d leaf "
		     "function%s need%s none",
		     c->callers_with_fp, c->callers,
		     c->callers ? 100.0 * c->callers_with_fp / c->callers : 100.0, c->leaves,
		     c->leaves == 1 ? "" : "s", c->leaves == 1 ? "s" : "");
	if (c->from_fdes && n > 0 && (size_t)n < sizeof(b->fp_words))
		n += snprintf(b->fp_words + n, sizeof(b->fp_words) - n,
			      " (functions from .eh_frame: no symbol table)");
	if (c->go && n > 0 && (size_t)n < sizeof(b->fp_words))
		snprintf(b->fp_words + n, sizeof(b->fp_words) - n,
			 "; a Go binary: Go keeps frame pointers on amd64");
}

/* The stacks --call-graph=fp gives, and what to do when they are short. */
static void describe_fp_walk(struct binary_report *b)
{
	const struct frame_census *c = &b->fp;
	const char *dwarf =
		b->cfi_known && b->cfi.source ? ", or record with --call-graph=dwarf" : "";

	b->stacks_fp = b->stacks_fp_buf;
	if (!b->fp_known)
		b->stacks_fp = "unknown: the functions could not be examined";
	else if (b->fp_kept)
		b->stacks_fp = "complete: the functions that call others keep frame pointers";
	else if (b->fp_some)
		snprintf(b->stacks_fp_buf, sizeof(b->stacks_fp_buf),
			 "partial: %d functions that call others have no frame pointer, so a "
			 "walk skips their callers or stops there (rebuild with "
			 "-fno-omit-frame-pointer%s)",
			 c->callers - c->callers_with_fp, dwarf);
	else
		snprintf(b->stacks_fp_buf, sizeof(b->stacks_fp_buf),
			 "short: built without frame pointers, a walk stops after a frame or two "
			 "(rebuild with -fno-omit-frame-pointer%s)",
			 dwarf);
}

static void check_binary(const char *path, struct binary_report *b)
{
	struct elf_syms *es;
	unsigned char id[64];
	char dbg[512], hex[130] = "";
	size_t n, i;

	memset(b, 0, sizeof(*b));
	b->checked = true;
	es = elf_syms__load(path);
	if (!es) {
		b->symbols = "not an ELF file pmuprof can read";
		snprintf(b->fp_words, sizeof(b->fp_words), "unknown: not an ELF file");
		b->stacks = b->stacks_fp = "unknown: not an ELF file";
		return;
	}
	b->exists = true;
	if (elf_syms__has_symtab(es)) {
		b->symbols = "full symbol table (.symtab)";
	} else {
		n = elf_syms__build_id(es, id, sizeof(id));
		for (i = 0; i < n; i++)
			snprintf(hex + 2 * i, 3, "%02x", id[i]);
		snprintf(dbg, sizeof(dbg), "/usr/lib/debug/.build-id/%.2s/%s.debug", hex, hex + 2);
		if (n && !access(dbg, R_OK))
			b->symbols = "stripped, debug file found by build id";
		else if (elf_syms__debuglink(es, NULL))
			b->symbols = "stripped, has a .gnu_debuglink (install its debug package)";
		else
			b->symbols =
				elf_syms__count(es) ? "exported symbols only (.dynsym)" : "none";
	}
	elf_syms__free(es);
	check_frame_pointers(path, b);
	check_cfi(path, b);
	describe_fp_walk(b);
}

static void cfi_json(const struct binary_report *b, struct json_object *o)
{
	json__add(o, "cfi", json__string(b->cfi.source ? b->cfi.source : ""));
	if (b->cfi_known) {
		json__add(o, "cfi_fdes", json_object_new_uint64(b->cfi.fdes));
		json__add(o, "cfi_rows", json_object_new_uint64(b->cfi.cfi_rows));
		json__add(o, "unwind_rows", json_object_new_uint64(b->cfi_rows));
		json__add(o, "unwind_bytes", json_object_new_uint64(b->cfi_bytes));
		json__add(o, "cfi_text_coverage", json__number(b->cfi_coverage, "%.4f"));
		json__add(o, "cfi_unsupported_rows",
			  json_object_new_uint64(b->cfi.by_cfa[UNWIND_CFA_UNSUPPORTED]));
		json__add(o, "cfi_functions", json_object_new_int(b->cfi_functions));
		json__add(o, "functions_seen", json_object_new_int(b->functions_seen));
	}
	json__add(o, "user_stacks", json__string(b->stacks));
	json__add(o, "user_stacks_fp", json__string(b->stacks_fp));
}

static void print_cfi(const struct binary_report *b)
{
	if (!b->cfi_known)
		printf("    CFI:             unreadable\n");
	else if (!b->cfi.source)
		printf("    CFI:             none (no .eh_frame or .debug_frame)\n");
	else
		printf("    CFI:             %s: %llu FDEs, %llu rows (%llu the unwinder cannot "
		       "use); %d of %d functions and %.1f%% of the code covered; table %zu rows, "
		       "%zu KiB\n",
		       b->cfi.source, (unsigned long long)b->cfi.fdes,
		       (unsigned long long)b->cfi.cfi_rows,
		       (unsigned long long)b->cfi.by_cfa[UNWIND_CFA_UNSUPPORTED], b->cfi_functions,
		       b->functions_seen, 100 * b->cfi_coverage, b->cfi_rows,
		       (b->cfi_bytes + 1023) / 1024);
	printf("    user stacks:     --call-graph=fp: %s\n", b->stacks_fp);
	printf("                     --call-graph=dwarf: %s\n", b->stacks);
}

/* Each kernel feature, probed once: 1 present, 0 absent, -errno unknown. */
static void probe_features(int have[KFEATURE_COUNT])
{
	int i;

	for (i = 0; i < KFEATURE_COUNT; i++)
		have[i] = kfeature__probe(i);
}

static const char *feature_word(int have, const char *yes, const char *no, const char *unknown)
{
	if (have > 0)
		return yes;
	return have == 0 ? no : unknown;
}

static void print_features(const int have[KFEATURE_COUNT])
{
	int i, lacking = 0;

	printf("  kernel features:   (probed; the mainline release that brought each)\n");
	for (i = 0; i < KFEATURE_COUNT; i++) {
		const struct kfeature_info *k = kfeature__info(i);
		char label[40];

		snprintf(label, sizeof(label), "%s:", k->name);
		printf("    %-22s%s (%s)\n", label, feature_word(have[i], "yes", "no", "unknown"),
		       k->since);
	}
	for (i = 0; i < KFEATURE_COUNT; i++)
		lacking += have[i] == 0;
	if (have[KFEATURE_PERF_LINK] < 0)
		printf("  kernel lacks:      unknown: %s (needs root or CAP_BPF)\n",
		       strerror(-have[KFEATURE_PERF_LINK]));
	else if (!lacking)
		printf("  kernel lacks:      nothing pmuprof uses\n");
	else
		printf("  kernel lacks:      %d of %d features; without them:\n", lacking,
		       KFEATURE_COUNT);
	for (i = 0; i < KFEATURE_COUNT; i++)
		if (have[i] == 0)
			printf("    %s (%s): %s\n", kfeature__info(i)->name,
			       kfeature__info(i)->since, kfeature__info(i)->without);
}

static void features_json(const int have[KFEATURE_COUNT], struct json_object *o)
{
	struct json_object *f = json_object_new_object(), *lacks = json_object_new_array();
	int i;

	for (i = 0; f && i < KFEATURE_COUNT; i++)
		json__add(f, kfeature__info(i)->key,
			  have[i] < 0 ? NULL : json_object_new_boolean(have[i] > 0));
	json__add(o, "kernel_features", f);
	for (i = 0; lacks && i < KFEATURE_COUNT; i++)
		if (!have[i])
			json_object_array_add(lacks, json__string(kfeature__info(i)->key));
	json__add(o, "kernel_lacks", lacks);
}

struct doctor {
	const struct machine_caps *mc;
	const int *have;
	const struct binary_report *bin;
	const char *binary, *agent_no;
	bool root, vm, port_free;
};

static struct json_object *binary_json(const struct doctor *d)
{
	struct json_object *o = json_object_new_object();

	if (!o)
		return NULL;
	json__add(o, "path", json__string(d->binary));
	json__add(o, "symbols", json__string(d->bin->symbols));
	json__add(o, "frame_pointers", json__string(d->bin->fp_words));
	if (d->bin->fp_known) {
		json__add(o, "functions", json_object_new_int(d->bin->fp.functions));
		json__add(o, "callers", json_object_new_int(d->bin->fp.callers));
		json__add(o, "callers_with_frame_pointer",
			  json_object_new_int(d->bin->fp.callers_with_fp));
		json__add(o, "leaf_functions", json_object_new_int(d->bin->fp.leaves));
		json__add(o, "go", json_object_new_boolean(d->bin->fp.go));
	}
	cfi_json(d->bin, o);
	return o;
}

static struct json_object *agent_json(const struct doctor *d)
{
	struct json_object *o = json_object_new_object();

	if (!o)
		return NULL;
	json__add(o, "runs", json_object_new_boolean(!d->agent_no));
	json__add(o, "reason", json__string(d->agent_no ? d->agent_no : ""));
	json__add(o, "listen", json__string("127.0.0.1:7071"));
	json__add(o, "port_free", json_object_new_boolean(d->port_free));
	return o;
}

/* doctor --json: one object (docs/doctor.md). */
static void print_doctor_json(const struct doctor *d)
{
	const struct machine_caps *mc = d->mc;
	const struct collector *const *all = collectors__all();
	struct json_object *o = json_object_new_object(), *cols, *c;
	char why[256];
	int i;

	if (!o)
		return;
	json__add(o, "kernel", json__string(mc->kernel));
	json__add(o, "btf", json_object_new_boolean(mc->btf));
	json__add(o, "perf_links", json_object_new_boolean(mc->perf_link));
	json__add(o, "bpf_cookies", json_object_new_boolean(d->have[KFEATURE_BPF_COOKIE] > 0));
	features_json(d->have, o);
	json__add(o, "core_pmu", json__string(mc->core_pmu ? mc->core_pmu_name : ""));
	json__add(o, "hardware_pmu", json_object_new_boolean(mc->core_pmu));
	json__add(o, "virtualized", json_object_new_boolean(d->vm));
	json__add(o, "uncore_pmus", json__string(mc->uncore_pmus));
	json__add(o, "perf_event_paranoid", json_object_new_int(mc->paranoid));
	json__add(o, "kptr_restrict", json_object_new_int(mc->kptr_restrict));
	json__add(o, "nmi_watchdog", json_object_new_boolean(mc->nmi_watchdog));
	json__add(o, "root", json_object_new_boolean(d->root));
	json__add(o, "cap_bpf", json_object_new_boolean(mc->cap_eff & (1ULL << 39)));
	json__add(o, "cap_perfmon", json_object_new_boolean(mc->cap_eff & (1ULL << 38)));
	json__add(o, "cap_sys_admin", json_object_new_boolean(mc->cap_eff & (1ULL << 21)));
	if (d->bin->checked)
		json__add(o, "binary", binary_json(d));
	cols = json_object_new_array();
	for (i = 0; cols && all[i]; i++) {
		const char *unmet = collector__unmet(all[i], mc, why, sizeof(why));

		c = json_object_new_object();
		if (!c)
			break;
		json__add(c, "name", json__string(all[i]->name));
		json__add(c, "runs", json_object_new_boolean(!unmet));
		json__add(c, "mode", json__string(all[i]->mode));
		json__add(c, "reason", json__string(unmet ? unmet : ""));
		json_object_array_add(cols, c);
	}
	json__add(o, "collectors", cols);
	json__add(o, "agent", agent_json(d));
	json__write_line(stdout, o);
}

/*
 * Whether 'pmuprof agent' can run here: its sampler needs what the profile collector
 * needs, and its default address must be free. NULL when it can, else why not.
 */
static const char *agent_unmet(const struct machine_caps *mc, char *buf, size_t sz, bool *port_free)
{
	struct sockaddr_in sa = {.sin_family = AF_INET,
				 .sin_port = htons(7071),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;

	*port_free = fd >= 0 && !setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) &&
		     !bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	if (fd >= 0)
		close(fd);
	if (collector__unmet(collectors__find("profile"), mc, buf, sz))
		return buf;
	if (!*port_free) {
		snprintf(buf, sz, "127.0.0.1:7071 is in use: give --listen ADDR:PORT");
		return buf;
	}
	return NULL;
}

int cmd_doctor(int argc, char **argv)
{
	static const struct option options[] = {
		{"binary", required_argument, NULL, 'b'},
		{"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const struct collector *const *all = collectors__all();
	struct machine_caps mc;
	struct binary_report bin = {0};
	const char *binary = NULL;
	bool json = false, root = geteuid() == 0, vm = virtualized();
	char why[256], agent_why[256];
	const char *agent_no;
	bool port_free;
	int c, i, have[KFEATURE_COUNT];

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
		switch (c) {
		case 'b':
			binary = optarg;
			break;
		case 'j':
			json = true;
			break;
		case 'h':
			fputs(doctor_usage, stdout);
			return 0;
		default:
			return cmd_option_error("doctor", c, argv, options);
		}
	}
	if (binary && access(binary, R_OK)) {
		fprintf(stderr, "pmuprof: doctor: --binary %s: %s\n", binary, strerror(errno));
		return EXIT_BAD_INPUT;
	}
	machine_caps__probe(&mc);
	probe_features(have);
	if (binary)
		check_binary(binary, &bin);
	agent_no = agent_unmet(&mc, agent_why, sizeof(agent_why), &port_free);

	if (json) {
		struct doctor d = {.mc = &mc,
				   .have = have,
				   .bin = &bin,
				   .binary = binary,
				   .agent_no = agent_no,
				   .port_free = port_free,
				   .root = root,
				   .vm = vm};

		print_doctor_json(&d);
		return 0;
	}
	printf("pmuprof doctor\n\n");
	printf("  kernel:            %s\n", mc.kernel);
	printf("  BTF:               %s\n", mc.btf ? "yes (/sys/kernel/btf/vmlinux)" : "no");
	print_features(have);
	if (mc.core_pmu)
		printf("  hardware PMU:      %s\n", mc.core_pmu_name[0] ? mc.core_pmu_name : "yes");
	else
		printf("  hardware PMU:      no hardware PMU (%s): cycles falls back to "
		       "cpu-clock\n",
		       vm ? "virtual machine" : "virtual machine?");
	printf("  uncore PMUs:       %s\n", mc.uncore_pmus[0] ? mc.uncore_pmus : "none");
	printf("  perf_event_paranoid: %d%s\n", mc.paranoid,
	       mc.paranoid > 1 && !mc.perf ? " (needs root or CAP_PERFMON)" : "");
	printf("  kptr_restrict:     %d%s\n", mc.kptr_restrict,
	       mc.kptr_restrict >= 2 || (mc.kptr_restrict == 1 && !root)
		       ? " (kernel symbols hidden: kernel frames unnamed)"
		       : "");
	printf("  capabilities:      %s; CAP_BPF %s, CAP_PERFMON %s, CAP_SYS_ADMIN %s\n",
	       root ? "root" : "not root", mc.cap_eff & (1ULL << 39) ? "yes" : "no",
	       mc.cap_eff & (1ULL << 38) ? "yes" : "no", mc.cap_eff & (1ULL << 21) ? "yes" : "no");
	printf("  NMI watchdog:      %s\n",
	       mc.nmi_watchdog ? "on (it takes a hardware counter: sysctl kernel.nmi_watchdog=0)"
			       : "off");
	if (bin.checked) {
		printf("\n  binary:            %s\n", binary);
		printf("    symbols:         %s\n", bin.symbols);
		printf("    frame pointers:  %s\n", bin.fp_words);
		print_cfi(&bin);
	}
	printf("\n  collectors:\n");
	for (i = 0; all[i]; i++) {
		const char *unmet = collector__unmet(all[i], &mc, why, sizeof(why));

		printf("    %-9s %s%s\n", all[i]->name,
		       unmet ? "will not run: " : "runs: ", unmet ? unmet : all[i]->mode);
	}
	if (agent_no)
		printf("\n  agent:             will not run: %s\n", agent_no);
	else
		printf("\n  agent:             runs: 'pmuprof agent' serves 127.0.0.1:7071 "
		       "(pmuprof-agent.service)\n");
	return 0;
}
