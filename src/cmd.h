/* SPDX-License-Identifier: GPL-2.0 */
#ifndef PMUPROF_CMD_H
#define PMUPROF_CMD_H

/* Exit codes: 0 success, 2 bad input or a refused operation, 1 an unexpected failure. */
#define EXIT_BAD_INPUT 2

int cmd_record(int argc, char **argv);
int cmd_list(int argc, char **argv);
int cmd_collapse(int argc, char **argv);
int cmd_flamegraph(int argc, char **argv);
int cmd_diff(int argc, char **argv);
int cmd_stat(int argc, char **argv);
int cmd_collect(int argc, char **argv);
int cmd_doctor(int argc, char **argv);

#endif
