// SPDX-License-Identifier: MIT
/*
 * The results index (report/index.h): an SQLite cache over the result
 * files, brought up to date before every query.
 *
 * Concurrency: the database is in WAL mode (readers never block the
 * writer), every connection waits up to BUSY_MS for a lock, and an
 * update is one BEGIN IMMEDIATE transaction, so two labctl processes
 * that find the same new results write the same rows one after the
 * other (INSERT OR REPLACE: the second write is a no-op in effect).
 * The files are read before the transaction, so the write lock is held
 * only for the inserts.
 */
#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/err.h"
#include "lib/log.h"
#include "lib/strbuf.h"
#include "lib/xmalloc.h"
#include "report/index.h"
#include "report/result.h"
#include "serial-capture/capture.h"

#define DEFAULT_DIR "results"
#define INDEX_NAME ".index.sqlite"
#define SCHEMA_VERSION 1
#define BUSY_MS 30000

struct report_index {
	sqlite3 *db;
	char *dir;
	char *path;	/* NULL: in memory */
};

static const char *const schema_sql =
	"DROP TABLE IF EXISTS results;"
	"DROP TABLE IF EXISTS stages;"
	"CREATE TABLE results("
	" name TEXT PRIMARY KEY,"
	" sort_key TEXT NOT NULL,"
	" log_mtime INTEGER NOT NULL, log_size INTEGER NOT NULL,"
	" json_mtime INTEGER NOT NULL, json_size INTEGER NOT NULL,"
	" started INTEGER NOT NULL,"
	" lab TEXT, board TEXT, chain TEXT NOT NULL, verdict TEXT NOT NULL,"
	" reason TEXT, duration REAL NOT NULL,"
	" nstages INTEGER NOT NULL, reached INTEGER NOT NULL,"
	" has_json INTEGER NOT NULL);"
	"CREATE INDEX results_order ON results(started DESC, sort_key DESC);"
	"CREATE TABLE stages(name TEXT NOT NULL, idx INTEGER NOT NULL,"
	" variant TEXT, PRIMARY KEY(name, idx));"
	"CREATE INDEX stages_variant ON stages(variant);";

/* ------------------------------------------------------------ helpers */

static int db_err(struct report_index *ix, int rc, const char *what)
{
	const char *msg = ix->db ? sqlite3_errmsg(ix->db) : sqlite3_errstr(rc);

	if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED)
		return lab_err(LAB_EBUSY,
			       "the results index %s stayed locked for %d s while %s: %s",
			       ix->path ? ix->path : "(memory)", BUSY_MS / 1000,
			       what, msg);
	return lab_err(LAB_EIO, "results index %s: %s: %s",
		       ix->path ? ix->path : "(memory)", what, msg);
}

static int exec(struct report_index *ix, const char *sql, const char *what)
{
	int rc = sqlite3_exec(ix->db, sql, NULL, NULL, NULL);

	return rc == SQLITE_OK ? 0 : db_err(ix, rc, what);
}

char *report_index_path(const char *results_dir)
{
	return xasprintf("%s/%s", results_dir ? results_dir : DEFAULT_DIR,
			 INDEX_NAME);
}

/* "20261121062618-0000000002": orders like result_name_cmp, reversed. */
static char *sort_key(const char *name)
{
	unsigned long n = 1;

	if (name[14] == '-')
		n = strtoul(name + 15, NULL, 10);
	return xasprintf("%.14s-%010lu", name, n);
}

static int64_t ns_of(const struct timespec *ts)
{
	return (int64_t)ts->tv_sec * 1000000000 + ts->tv_nsec;
}

/* ------------------------------------------------------------ open */

static int setup(struct report_index *ix)
{
	sqlite3_stmt *st = NULL;
	int rc, version = -1, tries;

	sqlite3_busy_timeout(ix->db, BUSY_MS);
	if (ix->path) {
		/* Switching to WAL takes an exclusive lock; a reader that
		 * holds the file at that moment makes it BUSY at once. */
		for (tries = 0; tries < 200; tries++) {
			rc = sqlite3_exec(ix->db, "PRAGMA journal_mode=WAL", NULL,
					  NULL, NULL);
			if (rc != SQLITE_BUSY && rc != SQLITE_LOCKED)
				break;
			usleep(20000);
		}
		if (rc != SQLITE_OK)
			return db_err(ix, rc, "switching to WAL");
		rc = exec(ix, "PRAGMA synchronous=NORMAL", "setting synchronous");
		if (rc)
			return rc;
	}
	rc = sqlite3_prepare_v2(ix->db, "PRAGMA user_version", -1, &st, NULL);
	if (rc == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
		version = sqlite3_column_int(st, 0);
	rc = sqlite3_finalize(st);
	if (rc != SQLITE_OK)
		return db_err(ix, rc, "reading the schema version");
	if (version == SCHEMA_VERSION)
		return 0;
	/* A new file, or one from another labctl: it is a cache. */
	rc = exec(ix, "BEGIN IMMEDIATE", "creating the schema");
	if (rc)
		return rc;
	rc = sqlite3_prepare_v2(ix->db, "PRAGMA user_version", -1, &st, NULL);
	version = -1;
	if (rc == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
		version = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	if (version != SCHEMA_VERSION) {	/* nobody made it meanwhile */
		char *sql = xasprintf("%sPRAGMA user_version=%d;", schema_sql,
				      SCHEMA_VERSION);

		rc = exec(ix, sql, "creating the schema");
		free(sql);
		if (rc) {
			sqlite3_exec(ix->db, "ROLLBACK", NULL, NULL, NULL);
			return rc;
		}
	}
	return exec(ix, "COMMIT", "creating the schema");
}

static bool damaged(int err_code)
{
	err_code &= 0xff;
	return err_code == SQLITE_CORRUPT || err_code == SQLITE_NOTADB;
}

static void remove_index_files(const char *path)
{
	static const char *const ext[] = { "", "-wal", "-shm" };
	size_t i;

	for (i = 0; i < 3; i++) {
		char *p = xasprintf("%s%s", path, ext[i]);

		unlink(p);
		free(p);
	}
}

static int try_open(struct report_index *ix)
{
	int rc, ret;

	rc = sqlite3_open_v2(ix->path ? ix->path : ":memory:", &ix->db,
			     SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
	if (rc != SQLITE_OK) {
		ret = db_err(ix, rc, "opening");
		goto fail;
	}
	ret = setup(ix);
	if (!ret)
		return 0;
	rc = sqlite3_extended_errcode(ix->db);
fail:
	sqlite3_close(ix->db);
	ix->db = NULL;
	return damaged(rc) ? -LAB_EFORMAT : ret;
}

int report_index_open(const char *results_dir, struct report_index **out)
{
	struct report_index *ix = xzalloc(sizeof(*ix));
	struct stat sb;
	int ret;

	*out = NULL;
	ix->dir = xstrdup(results_dir ? results_dir : DEFAULT_DIR);
	if (stat(ix->dir, &sb) == 0 && S_ISDIR(sb.st_mode) &&
	    access(ix->dir, W_OK) == 0)
		ix->path = report_index_path(ix->dir);
	ret = try_open(ix);
	if (ret == -LAB_EFORMAT && ix->path) {
		lab_warn("the results index %s is damaged: rebuilding it",
			 ix->path);
		remove_index_files(ix->path);
		ret = try_open(ix);
	}
	if (ret && ix->path && ret != -LAB_EBUSY) {
		/* A cache we cannot keep is still a cache for this call. */
		lab_debug("%s; using an index in memory", lab_errmsg(ret));
		lab_err_clear();
		free(ix->path);
		ix->path = NULL;
		ret = try_open(ix);
	}
	if (ret) {
		report_index_close(ix);
		return ret;
	}
	*out = ix;
	return 0;
}

void report_index_close(struct report_index *ix)
{
	if (!ix)
		return;
	sqlite3_close(ix->db);
	free(ix->dir);
	free(ix->path);
	free(ix);
}

/* ------------------------------------------------------------ update */

struct file_key {
	int64_t log_mtime, log_size, json_mtime, json_size;
};

struct known {			/* a row already in the index */
	char *name;
	struct file_key key;
	bool seen;
};

struct pending {		/* a result to write */
	struct result *r;
	struct file_key key;
};

static int cmp_known(const void *a, const void *b)
{
	return strcmp(((const struct known *)a)->name,
		      ((const struct known *)b)->name);
}

/* Stat a result's raw log and JSON; false when the raw log is gone. */
static bool stat_result(const char *log_path, struct file_key *k)
{
	char *json = xasprintf("%s.json", log_path);
	struct stat sb;
	bool ok = false;

	if (stat(log_path, &sb) == 0 && S_ISREG(sb.st_mode)) {
		ok = true;
		k->log_mtime = ns_of(&sb.st_mtim);
		k->log_size = (int64_t)sb.st_size;
		if (stat(json, &sb) == 0) {
			k->json_mtime = ns_of(&sb.st_mtim);
			k->json_size = (int64_t)sb.st_size;
		} else {
			k->json_mtime = k->json_size = -1;
		}
	}
	free(json);
	return ok;
}

static int bind_text(sqlite3_stmt *st, int i, const char *s)
{
	return s ? sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT) :
		sqlite3_bind_null(st, i);
}

static int write_row(struct report_index *ix, sqlite3_stmt *ins,
		     sqlite3_stmt *del_st, sqlite3_stmt *ins_st,
		     const struct pending *p)
{
	const struct result *r = p->r;
	struct strbuf chain = STRBUF_INIT;
	char *key = sort_key(r->name);
	int i, rc, reached = 0;

	for (i = 0; i < r->nstages; i++) {
		if (i)
			strbuf_addch(&chain, ' ');
		strbuf_addstr(&chain, r->stages[i].variant ?
			      r->stages[i].variant : "?");
		reached += r->stages[i].reached;
	}
	sqlite3_reset(ins);
	sqlite3_clear_bindings(ins);
	bind_text(ins, 1, r->name);
	bind_text(ins, 2, key);
	sqlite3_bind_int64(ins, 3, p->key.log_mtime);
	sqlite3_bind_int64(ins, 4, p->key.log_size);
	sqlite3_bind_int64(ins, 5, p->key.json_mtime);
	sqlite3_bind_int64(ins, 6, p->key.json_size);
	sqlite3_bind_int64(ins, 7, r->started_wall_ns);
	bind_text(ins, 8, r->lab);
	bind_text(ins, 9, r->board);
	bind_text(ins, 10, strbuf_str(&chain));
	bind_text(ins, 11, r->verdict);
	bind_text(ins, 12, r->reason);
	sqlite3_bind_double(ins, 13, r->duration);
	sqlite3_bind_int(ins, 14, r->nstages);
	sqlite3_bind_int(ins, 15, reached);
	sqlite3_bind_int(ins, 16, r->json_path && r->lab ? 1 : 0);
	rc = sqlite3_step(ins);
	free(key);
	strbuf_release(&chain);
	if (rc != SQLITE_DONE)
		return db_err(ix, rc, "writing a result");
	sqlite3_reset(del_st);
	bind_text(del_st, 1, r->name);
	rc = sqlite3_step(del_st);
	if (rc != SQLITE_DONE)
		return db_err(ix, rc, "writing a result's stages");
	for (i = 0; i < r->nstages; i++) {
		sqlite3_reset(ins_st);
		bind_text(ins_st, 1, r->name);
		sqlite3_bind_int(ins_st, 2, i);
		bind_text(ins_st, 3, r->stages[i].variant);
		rc = sqlite3_step(ins_st);
		if (rc != SQLITE_DONE)
			return db_err(ix, rc, "writing a result's stages");
	}
	return 0;
}

static int delete_row(struct report_index *ix, sqlite3_stmt *del,
		      sqlite3_stmt *del_st, const char *name)
{
	int rc;

	sqlite3_reset(del);
	bind_text(del, 1, name);
	rc = sqlite3_step(del);
	if (rc == SQLITE_DONE) {
		sqlite3_reset(del_st);
		bind_text(del_st, 1, name);
		rc = sqlite3_step(del_st);
	}
	return rc == SQLITE_DONE ? 0 : db_err(ix, rc, "removing a result");
}

/* One transaction: forget all (rebuild), write pending, drop gone. */
static int apply(struct report_index *ix, bool rebuild, struct pending *pend,
		 size_t npend, struct known *known, size_t nknown)
{
	sqlite3_stmt *ins = NULL, *del = NULL, *del_st = NULL, *ins_st = NULL;
	size_t i;
	int ret, rc;

	ret = exec(ix, "BEGIN IMMEDIATE", "starting an update");
	if (ret)
		return ret;
	if (rebuild) {
		ret = exec(ix, "DELETE FROM results; DELETE FROM stages;",
			   "clearing the index");
		if (ret)
			goto out;
	}
	rc = sqlite3_prepare_v2(ix->db,
				"INSERT OR REPLACE INTO results VALUES"
				" (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", -1, &ins, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(ix->db, "DELETE FROM results WHERE name = ?",
					-1, &del, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(ix->db, "DELETE FROM stages WHERE name = ?",
					-1, &del_st, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(ix->db,
					"INSERT OR REPLACE INTO stages VALUES (?,?,?)",
					-1, &ins_st, NULL);
	if (rc != SQLITE_OK) {
		ret = db_err(ix, rc, "preparing an update");
		goto out;
	}
	for (i = 0; i < npend && !ret; i++)
		ret = write_row(ix, ins, del_st, ins_st, &pend[i]);
	for (i = 0; i < nknown && !ret; i++)
		if (!known[i].seen)
			ret = delete_row(ix, del, del_st, known[i].name);
out:
	sqlite3_finalize(ins);
	sqlite3_finalize(del);
	sqlite3_finalize(del_st);
	sqlite3_finalize(ins_st);
	if (!ret)
		ret = exec(ix, "COMMIT", "committing an update");
	if (ret) {
		struct lab_err_saved s;

		lab_err_save(&s);
		sqlite3_exec(ix->db, "ROLLBACK", NULL, NULL, NULL);
		lab_err_restore(&s);
	}
	return ret;
}

static int read_known(struct report_index *ix, struct known **out, size_t *n)
{
	sqlite3_stmt *st = NULL;
	struct known *v = NULL;
	size_t nv = 0, alloc = 0;
	int rc;

	rc = sqlite3_prepare_v2(ix->db,
				"SELECT name, log_mtime, log_size, json_mtime, json_size"
				" FROM results", -1, &st, NULL);
	if (rc != SQLITE_OK)
		return db_err(ix, rc, "reading the index");
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(st, 0);

		if (!name)
			continue;
		if (nv == alloc) {
			alloc = alloc ? alloc * 2 : 256;
			v = xrealloc(v, alloc * sizeof(*v));
		}
		v[nv].name = xstrdup(name);
		v[nv].key.log_mtime = sqlite3_column_int64(st, 1);
		v[nv].key.log_size = sqlite3_column_int64(st, 2);
		v[nv].key.json_mtime = sqlite3_column_int64(st, 3);
		v[nv].key.json_size = sqlite3_column_int64(st, 4);
		v[nv].seen = false;
		nv++;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		while (nv)
			free(v[--nv].name);
		free(v);
		return db_err(ix, rc, "reading the index");
	}
	if (nv)
		qsort(v, nv, sizeof(*v), cmp_known);
	*out = v;
	*n = nv;
	return 0;
}

int report_index_update(struct report_index *ix, bool rebuild,
			struct report_index_stats *st)
{
	struct report_index_stats dummy;
	struct known *known = NULL;
	struct pending *pend = NULL;
	size_t nknown = 0, npend = 0, i;
	char **names = NULL;
	int n = 0, j, ret;

	if (!st)
		st = &dummy;
	memset(st, 0, sizeof(*st));
	ret = result_list(ix->dir, &names, &n);
	if (!ret && !rebuild)
		ret = read_known(ix, &known, &nknown);
	if (ret)
		goto out;
	pend = xcalloc((size_t)n + 1, sizeof(*pend));
	for (j = 0; j < n; j++) {
		struct known probe = { .name = names[j] }, *k;
		char *path = xasprintf("%s/%s", ix->dir, names[j]);
		struct file_key key;
		struct result *r = NULL;

		k = nknown ? bsearch(&probe, known, nknown, sizeof(*known),
				     cmp_known) : NULL;
		if (!stat_result(path, &key)) {
			free(path);	/* gone meanwhile: dropped below */
			continue;
		}
		if (k) {
			k->seen = true;
			if (!memcmp(&k->key, &key, sizeof(key))) {
				st->unchanged++;
				free(path);
				continue;
			}
		}
		ret = result_load(path, ix->dir, 0, &r);
		free(path);
		if (ret) {
			/* Vanished or unreadable: not indexed, not fatal. */
			lab_warn("%s", lab_errmsg(ret));
			lab_err_clear();
			ret = 0;
			if (k)
				k->seen = false;
			continue;
		}
		pend[npend].r = r;
		pend[npend].key = key;
		npend++;
		if (k)
			st->updated++;
		else
			st->added++;
	}
	for (i = 0; i < nknown; i++)
		st->removed += !known[i].seen;
	if (rebuild || npend || st->removed)
		ret = apply(ix, rebuild, pend, npend, known, nknown);
out:
	for (i = 0; i < npend; i++)
		result_free(pend[i].r);
	free(pend);
	for (i = 0; i < nknown; i++)
		free(known[i].name);
	free(known);
	result_list_free(names, n);
	return ret;
}

/* ------------------------------------------------------------ query */

static char *col_str(sqlite3_stmt *st, int i)
{
	const unsigned char *s = sqlite3_column_text(st, i);

	return s ? xstrdup((const char *)s) : NULL;
}

static bool log_is_live(const char *dir, const char *name)
{
	char *path = xasprintf("%s/%s", dir, name);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	bool live = fd >= 0 && capture_is_live(fd);

	if (fd >= 0)
		close(fd);
	free(path);
	return live;
}

int report_index_query(struct report_index *ix, const struct report_query *q,
		       struct report_row **rows, size_t *n)
{
	struct strbuf sql = STRBUF_INIT;
	sqlite3_stmt *st = NULL;
	struct report_row *v = NULL;
	size_t nv = 0, alloc = 0;
	const char *verdict = q->verdict;
	int rc, i = 1, want_live = -1;

	*rows = NULL;
	*n = 0;
	/* "running" is an unknown verdict whose capture is still live. */
	if (verdict && !strcmp(verdict, "running")) {
		verdict = "unknown";
		want_live = 1;
	} else if (verdict && !strcmp(verdict, "unknown")) {
		want_live = 0;
	}
	strbuf_addstr(&sql, "SELECT name, lab, board, chain, verdict, reason,"
		      " duration, started, nstages, reached, has_json"
		      " FROM results r WHERE 1");
	if (q->lab)
		strbuf_addstr(&sql, " AND lab = ?");
	if (q->variant)
		strbuf_addstr(&sql, " AND EXISTS (SELECT 1 FROM stages s"
			      " WHERE s.name = r.name AND s.variant = ?)");
	if (verdict)
		strbuf_addstr(&sql, " AND verdict = ?");
	if (q->since_wall_ns)
		strbuf_addstr(&sql, " AND started >= ?");
	strbuf_addstr(&sql, " ORDER BY started DESC, sort_key DESC");
	if (q->limit > 0 && want_live < 0)
		strbuf_addf(&sql, " LIMIT %d", q->limit);
	rc = sqlite3_prepare_v2(ix->db, strbuf_str(&sql), -1, &st, NULL);
	strbuf_release(&sql);
	if (rc != SQLITE_OK)
		return db_err(ix, rc, "querying");
	if (q->lab)
		bind_text(st, i++, q->lab);
	if (q->variant)
		bind_text(st, i++, q->variant);
	if (verdict)
		bind_text(st, i++, verdict);
	if (q->since_wall_ns)
		sqlite3_bind_int64(st, i++, q->since_wall_ns);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct report_row r = { 0 };

		r.name = col_str(st, 0);
		if (!r.name)
			continue;
		r.live = !sqlite3_column_int(st, 10) &&
			log_is_live(ix->dir, r.name);
		if (want_live >= 0 && r.live != (want_live == 1)) {
			free(r.name);
			continue;
		}
		r.lab = col_str(st, 1);
		r.board = col_str(st, 2);
		r.chain = col_str(st, 3);
		if (!r.chain)
			r.chain = xstrdup("");
		r.verdict = col_str(st, 4);
		if (!r.verdict)
			r.verdict = xstrdup("unknown");
		r.reason = col_str(st, 5);
		r.duration = sqlite3_column_double(st, 6);
		r.started_wall_ns = sqlite3_column_int64(st, 7);
		r.nstages = sqlite3_column_int(st, 8);
		r.reached = sqlite3_column_int(st, 9);
		if (nv == alloc) {
			alloc = alloc ? alloc * 2 : 64;
			v = xrealloc(v, alloc * sizeof(*v));
		}
		v[nv++] = r;
		if (q->limit > 0 && nv >= (size_t)q->limit)
			break;
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		sqlite3_finalize(st);
		report_rows_free(v, nv);
		return db_err(ix, rc, "querying");
	}
	sqlite3_finalize(st);
	*rows = v;
	*n = nv;
	return 0;
}

void report_rows_free(struct report_row *rows, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(rows[i].name);
		free(rows[i].lab);
		free(rows[i].board);
		free(rows[i].chain);
		free(rows[i].verdict);
		free(rows[i].reason);
	}
	free(rows);
}

/* ------------------------------------------------------------ the run */

int report_index_add(const char *results_dir, const char *json_path)
{
	struct report_index *ix = NULL;
	struct pending p = { 0 };
	char *log_path = xstrdup(json_path);
	size_t len = strlen(log_path);
	int ret;

	if (len > 5 && !strcmp(log_path + len - 5, ".json"))
		log_path[len - 5] = 0;
	if (!stat_result(log_path, &p.key)) {
		ret = lab_err(LAB_ENOENT, "cannot index %s: %s is missing",
			      json_path, log_path);
		goto out;
	}
	ret = result_load(log_path, results_dir, 0, &p.r);
	if (!ret)
		ret = report_index_open(results_dir, &ix);
	if (!ret && !ix->path)
		goto out;	/* nothing to keep */
	if (!ret)
		ret = apply(ix, false, &p, 1, NULL, 0);
out:
	result_free(p.r);
	report_index_close(ix);
	free(log_path);
	return ret;
}
