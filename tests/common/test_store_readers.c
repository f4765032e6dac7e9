/*
 * test_store_readers.c: a store error is not a fork. LMDB's reader table
 * (126 slots) fills up with readers that never let go, or with the stale
 * slots of processes killed inside a read; the store must say so with a
 * transient code, clear stale slots, and never stop a log over it.
 */
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "storeutil.h"

#define NREADERS 126 /* the store's reader table */

static char *dir;
static struct ucr_key *hubk, *nodek;
static struct ucr_store *hub, *node;
static pid_t kids[NREADERS];

static void
setup(void)
{
	su_setup(&dir, &hubk, &hub, &nodek, &node, 1);
}

static void
teardown(void)
{
	size_t i;

	for (i = 0; i < NREADERS; i++)
		if (kids[i] > 0) {
			kill(kids[i], SIGKILL);
			waitpid(kids[i], NULL, 0);
		}
	su_teardown(dir, hubk, hub, nodek, node);
}

TestSuite(store_readers, .init = setup, .fini = teardown, .timeout = 120);

static int ready_fd;

/* Inside a read transaction: say so, then wait to be killed. */
static int
hold_cb(const struct ucr_rec *r, void *arg)
{
	(void)r;
	(void)arg;
	if (write(ready_fd, "r", 1) != 1)
		_exit(1);
	for (;;)
		pause();
	return 0;
}

/* Fill the hub store's reader table with processes stuck in a read. */
static void
fill_readers(void)
{
	char path[512], c;
	int fds[2];
	size_t i;

	snprintf(path, sizeof(path), "%s/hub", dir);
	cr_assert_eq(pipe(fds), 0);
	for (i = 0; i < NREADERS; i++) {
		pid_t pid = fork();

		cr_assert_neq(pid, -1);
		if (pid == 0) {
			struct ucr_store *s;

			close(fds[0]);
			ready_fd = fds[1];
			if (ucr_store_open(&s, path, UCR_STORE_RDONLY, 0) != 0)
				_exit(2);
			ucr_store_foreach_record(s, "", hold_cb, NULL);
			_exit(3);
		}
		kids[i] = pid;
	}
	close(fds[1]);
	for (i = 0; i < NREADERS; i++)
		cr_assert_eq(read(fds[0], &c, 1), 1, "reader %zu never read",
		    i);
	close(fds[0]);
}

static void
kill_readers(void)
{
	size_t i;

	for (i = 0; i < NREADERS; i++) {
		kill(kids[i], SIGKILL);
		waitpid(kids[i], NULL, 0);
		kids[i] = 0;
	}
}

static int
send_node_log(uint64_t from, char *why, size_t whylen)
{
	Ucr__Batch *b;
	size_t applied;
	uint64_t ne;
	int rc;

	cr_assert_eq(ucr_store_identity(node, NULL, &ne, NULL, 0), 0);
	cr_assert_eq(ucr_store_batch(node, nodek, nodek->pk, ne, from, 0,
			 1 << 20, &b),
	    0);
	rc = ucr_store_apply(hub, b, &applied, why, whylen);
	ucr_batch_free(b);
	return rc;
}

Test(store_readers, full_reader_table_is_transient_and_stops_no_log)
{
	struct ucr_head h;
	uint64_t ne;
	char why[256] = "";
	int dead = -1;

	cr_assert_eq(ucr_store_identity(node, NULL, &ne, NULL, 0), 0);
	cr_assert_eq(su_append(node, nodek, su_network("2403", 1)), 0);
	cr_assert_eq(send_node_log(1, why, sizeof(why)), 0, "%s", why);

	fill_readers();
	/* live readers cannot be cleared: a named, transient error */
	cr_assert_eq(ucr_store_head(hub, nodek->pk, ne, &h), UCR_ETRANSIENT);
	cr_assert_str_eq(ucr_errname(UCR_ETRANSIENT), "ETRANSIENT");
	/* the write path needs no reader slot: the log goes on */
	cr_assert_eq(su_append(node, nodek, su_network("2403", 2)), 0);
	cr_assert_eq(send_node_log(2, why, sizeof(why)), 0, "%s", why);

	/* killed inside their reads: stale slots, cleared on the next read */
	kill_readers();
	cr_assert_eq(ucr_store_head(hub, nodek->pk, ne, &h), 0);
	cr_assert_eq(h.seq, 2);
	cr_assert_eq(h.stopped, 0, "a store error must never stop a log");
	cr_assert_eq(su_append(node, nodek, su_network("2403", 3)), 0);
	cr_assert_eq(send_node_log(3, why, sizeof(why)), 0, "%s", why);
	cr_assert_eq(ucr_store_reader_check(hub, &dead), 0);
	cr_assert_eq(dead, 0);
}

Test(store_readers, reader_check_clears_stale_slots)
{
	int dead = 0;

	fill_readers();
	kill_readers();
	cr_assert_eq(ucr_store_reader_check(hub, &dead), 0);
	cr_assert_eq(dead, NREADERS);
	/* the daemons' timer: the first tick checks, the next waits */
	fill_readers();
	kill_readers();
	cr_assert_eq(ucr_store_reader_tick(hub), NREADERS);
	fill_readers();
	kill_readers();
	cr_assert_eq(ucr_store_reader_tick(hub), 0);
}
