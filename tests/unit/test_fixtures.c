/* Fixtures: what the real service could have issued loads; what it could
 * not have (a short API key, an appid of the wrong shape, a user under an
 * appid no merchant holds) is refused with the path of the value and the
 * rule. The shipped fixtures file must load. */
#include "check.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fixtures.h"

#define KEY "192006250b4c09247ec02edce69f6a2d"
#define APP "wx8888888888888888"

/* A one-merchant document; each argument replaces a piece. */
static char *doc(const char *api_key, const char *apps, const char *users)
{
	static char text[2048];
	snprintf(text, sizeof(text),
		 "{\"merchants\": [{\"mch_id\": \"10000098\", \"name\": \"n\", \"api_key\": %s,"
		 " \"balance\": 1, \"apps\": %s, \"mobile_apps\": [\"wx2421b1c4370ec43b\"]}],"
		 " \"users\": %s}",
		 api_key, apps, users);
	return text;
}

/* The message of a refused document ("" when it was accepted). */
static const char *refusal(const char *text)
{
	static char err[512];
	err[0] = '\0';
	if (fixtures_check_text(text, strlen(text), err, sizeof(err)) == 0)
		return "";
	return err;
}

static void test_accepts_real_shapes(void)
{
	CHECK_STR(refusal(doc("\"" KEY "\"", "[\"" APP "\"]",
			      "[{\"openid\": \"oxTWIuGaIt6gTKsQRLau2M0yL16E\", \"appid\": \"" APP
			      "\"},"
			      " {\"openid\": \"o-_9\", \"appid\": \"wx2421b1c4370ec43b\"}]")),
		  "");
	CHECK_STR(refusal(doc("\"ABCDEFGHIJKLMNOPQRSTUVWXYZ012345\"", "[\"" APP "\"]", "[]")), "");
}

static void test_api_key(void)
{
	static const char *const bad[] = {"\"short\"",
					  "\"" KEY "0\"",
					  "\"192006250b4c09247ec02edce69f6a2\"",
					  "\"192006250b4c09247ec02edce69f6a2-\"",
					  "\"192006250b4c09247ec02edce69f6a2 \"",
					  "42",
					  "null"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK_STR(refusal(doc(bad[i], "[\"" APP "\"]", "[]")),
			  "merchants[0].api_key must be 32 letters and digits (an API v2 key)");
}

static void test_appid_shape(void)
{
	static const char *const bad[] = {"\"a\"",
					  "\"wx888888888888888\"",
					  "\"wx88888888888888889\"",
					  "\"WX8888888888888888\"",
					  "\"wx888888888888888G\"",
					  "\"wxABCDEF8888888888\""};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char apps[64];
		snprintf(apps, sizeof(apps), "[%s]", bad[i]);
		CHECK_STR(refusal(doc("\"" KEY "\"", apps, "[]")),
			  "merchants[0].apps[0] must be \"wx\" and 16 lower-case hex digits (an "
			  "appid)");
	}
}

static void test_users(void)
{
	CHECK_STR(refusal(doc("\"" KEY "\"", "[\"" APP "\"]",
			      "[{\"openid\": \"o1\", \"appid\": \"wx0000000000000000\"}]")),
		  "users[0].appid \"wx0000000000000000\" must be in some merchant's apps or "
		  "mobile_apps (an openid is issued under an appid a merchant holds)");
	CHECK_STR(refusal(doc("\"" KEY "\"", "[\"" APP "\"]",
			      "[{\"openid\": \"o1\", \"appid\": \"app\"}]")),
		  "users[0].appid must be \"wx\" and 16 lower-case hex digits (an appid)");
	CHECK_STR(refusal(doc("\"" KEY "\"", "[\"" APP "\"]",
			      "[{\"openid\": \"o 1\", \"appid\": \"" APP "\"}]")),
		  "users[0].openid must be 1-32 letters, digits, '-' or '_' (an openid)");
	CHECK_STR(refusal(doc(
			  "\"" KEY "\"", "[\"" APP "\"]",
			  "[{\"openid\": \"o123456789012345678901234567890123\", \"appid\": \"" APP
			  "\"}]")),
		  "users[0].openid must be 1-32 letters, digits, '-' or '_' (an openid)");
	CHECK_STR(refusal(doc("\"" KEY "\"", "[\"" APP "\"]",
			      "[{\"openid\": \"o1\", \"appid\": \"" APP "\"},"
			      " {\"openid\": \"o1\", \"appid\": \"wx2421b1c4370ec43b\"}]")),
		  "users[1].openid \"o1\" appears twice (an openid belongs to one appid)");
}

/* The shipped file, with the file name in front of every message. */
static void test_load_names_the_file(const char *shipped)
{
	char err[512], path[] = "/tmp/test_fixtures.XXXXXX";
	struct store *s = store_open(":memory:", err, sizeof(err));
	int fd = mkstemp(path);
	const char *bad = doc("\"short\"", "[\"" APP "\"]", "[]");

	CHECK(s && fd >= 0);
	if (!s || fd < 0)
		return;
	CHECK(fixtures_load(s, shipped, 0, 0, err, sizeof(err)) == 1);
	CHECK(write(fd, bad, strlen(bad)) == (ssize_t)strlen(bad));
	close(fd);
	CHECK(fixtures_load(s, path, 0, 1, err, sizeof(err)) == -1);
	CHECK(strncmp(err, path, strlen(path)) == 0 &&
	      strstr(err, ": merchants[0].api_key must be"));
	unlink(path);
	store_close(s);
}

/* A full reset swaps in a fresh database: nothing of the old world is
 * left, the business clock and the id sequences go on, the store keeps
 * its address and works as before; in memory too. */
static void test_reset_swaps(const char *shipped, const char *where)
{
	char err[512], dir[] = "/tmp/test_fixtures_db.XXXXXX", path[300];
	struct store *s;
	struct stat before, after;
	int64_t offset = -1, id = 0;
	int file = strcmp(where, ":memory:") != 0;

	if (file) {
		CHECK(mkdtemp(dir) != NULL);
		snprintf(path, sizeof(path), "%s/reset.db", dir);
	} else {
		snprintf(path, sizeof(path), ":memory:");
	}
	s = store_open(path, err, sizeof(err));
	CHECK(s != NULL);
	if (!s)
		return;
	CHECK(fixtures_load(s, shipped, 1000, 0, err, sizeof(err)) == 1);
	/* 5000 orders R1..R5000 (held, created at 5) to be swapped out. */
	CHECK(store_begin(s) == 0);
	for (int i = 1; i <= 5000; i++) {
		char billno[16];
		struct packet_new r = {.mch_id = "10000098",
				       .mch_billno = billno,
				       .hb_type = "NORMAL",
				       .status = "SENDING",
				       .wxappid = "wx8888888888888888",
				       .re_openid = "o",
				       .send_name = "s",
				       .wishing = "w",
				       .act_name = "a",
				       .remark = "r",
				       .total_amount = 100,
				       .total_num = 1,
				       .created_at = 5};
		snprintf(billno, sizeof(billno), "R%d", i);
		CHECK(store_packet_insert(s, &r, &id) == 0);
	}
	CHECK(store_commit(s) == 0);
	CHECK(store_set_clock_offset(s, 4242) == 0);
	CHECK(file ? stat(path, &before) == 0 : 1);
	CHECK(fixtures_reset(s, shipped, NULL, 2000, err, sizeof(err)) == 0);
	CHECK(store_is_empty(s) == 0);
	CHECK(store_clock_offset(s, &offset) == 0 && offset == 4242);
	struct packet_row row;
	CHECK(store_packet_find(s, "10000098", "R1", &row) == 0);
	/* Ids go on: the next packet's id is past every old one. */
	struct packet_new p = {.mch_id = "10000098",
			       .mch_billno = "NEW",
			       .hb_type = "NORMAL",
			       .status = "SENDING",
			       .wxappid = "wx8888888888888888",
			       .re_openid = "o",
			       .send_name = "s",
			       .wishing = "w",
			       .act_name = "a",
			       .remark = "r",
			       .total_amount = 100,
			       .total_num = 1,
			       .created_at = 3000};
	CHECK(store_packet_insert(s, &p, &id) == 0);
	CHECK(id > 5000);
	if (file) {
		/* Another file took the old one's place; nothing was left beside it. */
		CHECK(stat(path, &after) == 0 && after.st_ino != before.st_ino);
		char tmp[320];
		snprintf(tmp, sizeof(tmp), "%s.reset", path);
		CHECK(access(tmp, F_OK) != 0);
	}
	store_close(s);
	if (file) {
		static const char *const suffix[] = {"", "-wal", "-shm"};
		for (size_t i = 0; i < 3; i++) {
			char f[320];
			snprintf(f, sizeof(f), "%s%s", path, suffix[i]);
			unlink(f);
		}
		rmdir(dir);
	}
}

int main(int argc, char **argv)
{
	test_accepts_real_shapes();
	test_api_key();
	test_appid_shape();
	test_users();
	if (argc > 1) {
		test_load_names_the_file(argv[1]);
		test_reset_swaps(argv[1], "file");
		test_reset_swaps(argv[1], ":memory:");
	} else
		CHECK(!"usage: test_fixtures fixtures/default.json");
	return check_done("test_fixtures");
}
