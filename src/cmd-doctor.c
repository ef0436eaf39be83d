// SPDX-License-Identifier: GPL-2.0
/* pmuprof doctor: what this machine can do, and what each collector will do here. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cmd.h"
#include "util.h"
#include "collector.h"
#include "symbolize/symbolize.h"

static const char doctor_usage[] =
	"Usage: pmuprof doctor [--binary PATH] [--json]\n"
	"\n"
	"Check the kernel, BTF, BPF links and cookies, the hardware and uncore PMUs,\n"
	"perf_event_paranoid, kptr_restrict, capabilities and the NMI watchdog, and say for\n"
	"each collector whether it will run here and how. With --binary, whether PATH has\n"
	"frame pointers (needed for full user stacks) and symbols.\n"
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
	bool checked, exists, fp_known;
	int with_fp, functions;
	const char *symbols;
};

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
			b->symbols = elf_syms__count(es) ? "exported symbols only (.dynsym)" : "none";
	}
	elf_syms__free(es);
	b->fp_known = elf_frame_pointer_census(path, &b->with_fp, &b->functions) == 0;
}

int cmd_doctor(int argc, char **argv)
{
	static const struct option options[] = {
		{ "binary", required_argument, NULL, 'b' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const struct collector *const *all = collectors__all();
	struct machine_caps mc;
	struct binary_report bin = { 0 };
	const char *binary = NULL;
	bool json = false, root = geteuid() == 0, vm = virtualized();
	char why[256], fp[128] = "";
	int c, i;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
		switch (c) {
		case 'b': binary = optarg; break;
		case 'j': json = true; break;
		case 'h': fputs(doctor_usage, stdout); return 0;
		default:
			return cmd_option_error("doctor", c, argv, options);
		}
	}
	if (binary && access(binary, R_OK)) {
		fprintf(stderr, "pmuprof: doctor: --binary %s: %s\n", binary, strerror(errno));
		return EXIT_BAD_INPUT;
	}
	machine_caps__probe(&mc);
	if (binary)
		check_binary(binary, &bin);
	if (bin.fp_known && bin.functions)
		snprintf(fp, sizeof(fp), "%d of %d functions (%.0f%%)", bin.with_fp, bin.functions,
			 100.0 * bin.with_fp / bin.functions);
	else if (bin.checked)
		snprintf(fp, sizeof(fp), "unknown (x86-64 binaries only)");

	if (json) {
		printf("{\"kernel\": ");
		json_write_string(stdout, mc.kernel);
		printf(", \"btf\": %s, \"perf_links\": %s, \"bpf_cookies\": %s, \"core_pmu\": ",
		       mc.btf ? "true" : "false", mc.perf_link ? "true" : "false",
		       mc.perf_link ? "true" : "false");
		json_write_string(stdout, mc.core_pmu ? mc.core_pmu_name : "");
		printf(", \"hardware_pmu\": %s, \"virtualized\": %s, \"uncore_pmus\": ",
		       mc.core_pmu ? "true" : "false", vm ? "true" : "false");
		json_write_string(stdout, mc.uncore_pmus);
		printf(", \"perf_event_paranoid\": %d, \"kptr_restrict\": %d, \"nmi_watchdog\": %s, "
		       "\"root\": %s, \"cap_bpf\": %s, \"cap_perfmon\": %s, \"cap_sys_admin\": %s",
		       mc.paranoid, mc.kptr_restrict, mc.nmi_watchdog ? "true" : "false",
		       root ? "true" : "false", mc.cap_eff & (1ULL << 39) ? "true" : "false",
		       mc.cap_eff & (1ULL << 38) ? "true" : "false",
		       mc.cap_eff & (1ULL << 21) ? "true" : "false");
		if (bin.checked) {
			printf(", \"binary\": {\"path\": ");
			json_write_string(stdout, binary);
			printf(", \"symbols\": ");
			json_write_string(stdout, bin.symbols);
			printf(", \"frame_pointers\": ");
			json_write_string(stdout, fp);
			if (bin.fp_known)
				printf(", \"functions\": %d, \"with_frame_pointer\": %d", bin.functions,
				       bin.with_fp);
			printf("}");
		}
		printf(", \"collectors\": [");
		for (i = 0; all[i]; i++) {
			const char *unmet = collector__unmet(all[i], &mc, why, sizeof(why));

			printf("%s{\"name\": \"%s\", \"runs\": %s, \"mode\": ", i ? ", " : "", all[i]->name,
			       unmet ? "false" : "true");
			json_write_string(stdout, all[i]->mode);
			printf(", \"reason\": ");
			json_write_string(stdout, unmet ? unmet : "");
			printf("}");
		}
		printf("]}\n");
		return 0;
	}
	printf("pmuprof doctor\n\n");
	printf("  kernel:            %s\n", mc.kernel);
	printf("  BTF:               %s\n", mc.btf ? "yes (/sys/kernel/btf/vmlinux)" : "no");
	printf("  perf bpf_link:     %s\n", mc.perf_link ? "yes" : "no (attach falls back to ioctl)");
	printf("  BPF cookies:       %s\n", mc.perf_link ? "yes" : "no (one program per event)");
	if (mc.core_pmu)
		printf("  hardware PMU:      %s\n", mc.core_pmu_name[0] ? mc.core_pmu_name : "yes");
	else
		printf("  hardware PMU:      no hardware PMU (%s): cycles falls back to cpu-clock\n",
		       vm ? "virtual machine" : "virtual machine?");
	printf("  uncore PMUs:       %s\n", mc.uncore_pmus[0] ? mc.uncore_pmus : "none");
	printf("  perf_event_paranoid: %d%s\n", mc.paranoid,
	       mc.paranoid > 1 && !mc.perf ? " (needs root or CAP_PERFMON)" : "");
	printf("  kptr_restrict:     %d%s\n", mc.kptr_restrict,
	       mc.kptr_restrict >= 2 || (mc.kptr_restrict == 1 && !root) ?
		       " (kernel symbols hidden: kernel frames unnamed)" :
		       "");
	printf("  capabilities:      %s; CAP_BPF %s, CAP_PERFMON %s, CAP_SYS_ADMIN %s\n",
	       root ? "root" : "not root", mc.cap_eff & (1ULL << 39) ? "yes" : "no",
	       mc.cap_eff & (1ULL << 38) ? "yes" : "no", mc.cap_eff & (1ULL << 21) ? "yes" : "no");
	printf("  NMI watchdog:      %s\n", mc.nmi_watchdog ?
						"on (it takes a hardware counter: sysctl kernel.nmi_watchdog=0)" :
						"off");
	if (bin.checked) {
		printf("\n  binary:            %s\n", binary);
		printf("    symbols:         %s\n", bin.symbols);
		printf("    frame pointers:  %s%s\n", fp,
		       bin.fp_known && bin.functions && bin.with_fp * 2 < bin.functions ?
			       " — user stacks will be short; rebuild with -fno-omit-frame-pointer" :
			       "");
	}
	printf("\n  collectors:\n");
	for (i = 0; all[i]; i++) {
		const char *unmet = collector__unmet(all[i], &mc, why, sizeof(why));

		printf("    %-9s %s%s\n", all[i]->name, unmet ? "will not run: " : "runs: ",
		       unmet ? unmet : all[i]->mode);
	}
	return 0;
}
