// SPDX-License-Identifier: MIT
/*
 * labctl labs: every lab file on the search path, with its board and
 * status.  A file that cannot be read as a lab (a FIFO, a syntax error) is
 * listed as invalid, with why.
 */
#include <dirent.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "labctl/labconf.h"
#include "labctl/labctl.h"
#include "lib/json.h"
#include "lib/strbuf.h"
#include "lib/xmalloc.h"

struct found {
	char *name;
	char *path;
};

static int by_name(const void *a, const void *b)
{
	return strcmp(((const struct found *)a)->name,
		      ((const struct found *)b)->name);
}

static bool seen(const struct found *f, int n, const char *name)
{
	int i;

	for (i = 0; i < n; i++)
		if (!strcmp(f[i].name, name))
			return true;
	return false;
}

/* Labs earlier on the search path hide later ones of the same name. */
static int collect(struct found **out)
{
	struct found *f = NULL;
	int n = 0, ndirs, i;
	char **dirs = lab_search_dirs(&ndirs);

	for (i = 0; i < ndirs; i++) {
		struct dirent **ents;
		int k, m = scandir(dirs[i], &ents, NULL, alphasort);

		for (k = 0; k < m; k++) {
			const char *d = ents[k]->d_name;
			size_t len = strlen(d);

			if (len > 5 && !strcmp(d + len - 5, ".conf") && d[0] != '.') {
				char *name = xstrndup(d, len - 5);

				if (seen(f, n, name)) {
					free(name);
				} else {
					char *path = xasprintf("%s/%s", dirs[i], d);

					f = xrealloc(f, (n + 1) * sizeof(*f));
					f[n].name = name;
					f[n].path = lab_path_clean(path);
					free(path);
					n++;
				}
			}
			free(ents[k]);
		}
		if (m >= 0)
			free(ents);
	}
	lab_search_dirs_free(dirs, ndirs);
	if (n)
		qsort(f, (size_t)n, sizeof(*f), by_name);
	*out = f;
	return n;
}

int cmd_labs(int argc, char **argv, struct cmd_ctx *ctx)
{
	static const struct option opts[] = { { NULL, 0, NULL, 0 } };
	struct strbuf out = STRBUF_INIT;
	json_t *labs = NULL;	/* --json: the listing */
	struct found *f;
	struct cmd_getopt g;
	int n, i, bad = 0, c;

	cmd_getopt_init(&g, "labs", argc, argv, opts);
	while ((c = cmd_getopt_next(&g)) != -1) {
		if (c != CMD_OPERAND)
			return LAB_EXIT_USAGE;
		return cmd_usage_error("labs", "takes no arguments");
	}
	n = collect(&f);
	if (ctx->json)
		labs = json_array();
	else if (n)
		strbuf_addf(&out, "%-12s %-7s %-9s %s\n", "LAB", "BOARD", "VARIANTS",
			    "DESCRIPTION");
	for (i = 0; i < n; i++) {
		struct lab *lab = NULL;
		int ret = lab_load(f[i].path, &lab);
		const char *desc = lab ? lab->board.description : NULL;

		if (ret < 0)
			bad++;
		if (labs) {
			json_t *o = json_object();

			lab_json_set(o, "name", lab_json_str(f[i].name));
			lab_json_set(o, "path", lab_json_str(f[i].path));
			if (lab) {
				lab_json_set(o, "board",
					     lab_json_str(lab->board.type));
				json_object_set_new(o, "variants",
						    json_integer(lab->nvariants));
				lab_json_set(o, "description",
					     lab_json_str(desc ? desc : ""));
				json_object_set_new(o, "valid", json_true());
			} else {
				json_object_set_new(o, "valid", json_false());
				lab_json_set(o, "error", lab_json_str(lab_errmsg(ret)));
			}
			json_array_append_new(labs, o);
		} else if (lab) {
			strbuf_addf(&out, "%-12s %-7s %-9d %s\n", f[i].name,
				    lab->board.type, lab->nvariants,
				    desc ? desc : "");
		} else {
			strbuf_addf(&out, "%-12s %-7s %-9s invalid: %s\n", f[i].name,
				    "?", "?", lab_errmsg(ret));
		}
		lab_free(lab);
		free(f[i].name);
		free(f[i].path);
	}
	free(f);
	if (labs)
		lab_json_add(&out, labs);
	else if (!n)
		strbuf_addstr(&out,
			      "no lab files found (looked in $LABCTL_LABS, ./labs, $XDG_CONFIG_HOME/labctl/labs and the installed labs)\n");
	fputs(strbuf_str(&out), stdout);
	strbuf_release(&out);
	/* Listing works even with broken files; say so in the exit code. */
	return bad ? LAB_EXIT_USAGE : 0;
}
