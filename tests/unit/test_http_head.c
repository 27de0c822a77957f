/* The request head judged as nginx would, before evhttp parses it
 * (http_head.c): the path nginx resolves, and which page a head gets. */
#include "check.h"

#include <string.h>

#include "http_head.h"

static const char *path_of(const char *target)
{
	static char out[256];
	return http_normalize_path(target, out) == 0 ? out : "(400)";
}

static void paths(void)
{
	CHECK_STR(path_of("/mmpaymkttransfers/sendgroupredpack"),
		  "/mmpaymkttransfers/sendgroupredpack");
	CHECK_STR(path_of("//mmpaymkttransfers///sendgroupredpack"),
		  "/mmpaymkttransfers/sendgroupredpack"); /* merge_slashes */
	CHECK_STR(path_of("/a/./b/../mmpaymkttransfers/gethbinfo"),
		  "/a/mmpaymkttransfers/gethbinfo");
	CHECK_STR(path_of("/mmpaymkttransfers/%73endredpack"), "/mmpaymkttransfers/sendredpack");
	CHECK_STR(path_of("/x/?q=1/../.."), "/x/"); /* the query is dropped */
	CHECK_STR(path_of("/"), "/");
	/* Targets that are their own path (plain_path), and their near misses. */
	CHECK_STR(path_of("/a/b/"), "/a/b/");
	CHECK_STR(path_of("/A-z_09/x"), "/A-z_09/x");
	CHECK_STR(path_of("/a//b"), "/a/b");
	CHECK_STR(path_of("/a/b//"), "/a/b/");
	CHECK_STR(path_of("/a/.b/c"), "/a/.b/c");
	CHECK_STR(path_of("/a/b~c"), "/a/b~c");
	CHECK_STR(path_of("https://api.mch.weixin.qq.com/mmpaymkttransfers/gethbinfo?x"),
		  "/mmpaymkttransfers/gethbinfo");
	CHECK_STR(path_of("https://host"), "/");
	/* Where nginx answers 400. */
	CHECK_STR(path_of("/../etc"), "(400)");
	CHECK_STR(path_of("/a/%00"), "(400)");
	CHECK_STR(path_of("/a/%4"), "(400)");
	CHECK_STR(path_of("/a/%zz"), "(400)");
	CHECK_STR(path_of("*"), "(400)");
	CHECK_STR(path_of("://x/"), "(400)");
}

static struct head judge(const char *text, size_t max_headers, size_t max_body, int api)
{
	struct head h;
	http_head_check(text, strlen(text), 0, 0, max_headers, max_body, api, &h);
	return h;
}

#define POST "POST /mmpaymkttransfers/sendgroupredpack HTTP/1.1\r\n"

static void heads(void)
{
	struct head h;

	h = judge(POST "Host: x\r\nContent-Length: 10\r\nConnection: keep-alive\r\n\r\n", 4096, 100,
		  1);
	CHECK(h.complete && h.refusal == PAGE_NONE);
	CHECK(h.body && h.body_method && h.keep_alive && !h.close && !h.http10);
	CHECK(h.target_at == 5 && h.version_at == strlen(POST) - 10);
	h = judge("GET /x HTTP/1.0\nConnection: close\n\n", 4096, 100, 1); /* bare LF */
	CHECK(h.complete && h.refusal == PAGE_NONE && h.http10 && h.close && !h.body_method);
	/* Not complete yet: no verdict. */
	h = judge(POST "Host: x\r\n", 4096, 100, 1);
	CHECK(!h.complete && h.refusal == PAGE_NONE);
	/* A NUL anywhere: 400 at once, before the end is seen. */
	{
		static const char nul[] = POST "Host: x\0y";
		http_head_check(nul, sizeof(nul) - 1, 0, 0, 4096, 100, 1, &h);
		CHECK(h.complete && h.refusal == PAGE_BAD_REQUEST);
	}
	/* Over --max-headers: nginx's "Request Header Or Cookie Too Large". */
	h = judge(POST "X-Long: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n",
		  64, 100, 1);
	CHECK(h.complete && h.refusal == PAGE_HEADER_TOO_LARGE);
	{
		/* No end within the limit and more bytes to come: refused too. */
		static const char part[] = POST "X-Long: aaaaaaaaaaaaaaaaaaaa";
		http_head_check(part, sizeof(part) - 1, 1, 0, sizeof(part) - 1, 100, 1, &h);
		CHECK(h.complete && h.refusal == PAGE_HEADER_TOO_LARGE);
	}
	/* A body over --max-body: 413, decided on the head alone. */
	h = judge(POST "Content-Length: 101\r\n\r\n", 4096, 100, 1);
	CHECK(h.complete && h.refusal == PAGE_TOO_LARGE);
	h = judge(POST "Content-Length: 100\r\n\r\n", 4096, 100, 1);
	CHECK(h.refusal == PAGE_NONE);
	/* Lengths nginx refuses: twice, empty, not digits. */
	h = judge(POST "Content-Length: 1\r\nContent-Length: 1\r\n\r\n", 4096, 100, 1);
	CHECK(h.refusal == PAGE_BAD_REQUEST);
	h = judge(POST "Content-Length: \r\n\r\n", 4096, 100, 1);
	CHECK(h.refusal == PAGE_BAD_REQUEST);
	h = judge(POST "Content-Length: 1x\r\n\r\n", 4096, 100, 1);
	CHECK(h.refusal == PAGE_BAD_REQUEST);
	h = judge(POST "Transfer-Encoding: chunked\r\n\r\n", 4096, 100, 1);
	CHECK(h.refusal == PAGE_NONE && h.body);
	/* A header line without a name, or without a colon. */
	h = judge(POST ": x\r\n\r\n", 4096, 100, 1);
	CHECK(h.refusal == PAGE_BAD_REQUEST);
	h = judge(POST "Host x\r\n\r\n", 4096, 100, 1);
	CHECK(h.refusal == PAGE_BAD_REQUEST);
	h = judge(POST "Host: x\r\n folded\r\n\r\n", 4096, 100, 1); /* a continuation */
	CHECK(h.refusal == PAGE_NONE);
	/* Request lines: only HTTP/1.0 and 1.1, a method, a target. */
	h = judge("GET / HTTP/0.9\r\n\r\n", 4096, 100, 1);
	CHECK(h.refusal == PAGE_BAD_REQUEST);
	h = judge("GET /\r\n\r\n", 4096, 100, 1);
	CHECK(h.refusal == PAGE_BAD_REQUEST);
	h = judge(" / HTTP/1.1\r\n\r\n", 4096, 100, 1);
	CHECK(h.refusal == PAGE_BAD_REQUEST);
	h = judge("GET  HTTP/1.1\r\n\r\n", 4096, 100, 1);
	CHECK(h.refusal == PAGE_BAD_REQUEST);
	/* A path climbing above the root: 400 on the API port (nginx), left
	 * to the control port's router there. */
	h = judge("GET /../x HTTP/1.1\r\n\r\n", 4096, 100, 1);
	CHECK(h.refusal == PAGE_BAD_REQUEST);
	h = judge("GET /../x HTTP/1.1\r\n\r\n", 4096, 100, 0);
	CHECK(h.refusal == PAGE_NONE);
	/* A target evhttp cannot parse (the port not a number): 400 on both
	 * ports. It once crashed the server (a NULL freed by libevent). */
	h = judge("GET http://h:1x/ HTTP/1.1\r\n\r\n", 4096, 100, 1);
	CHECK(h.refusal == PAGE_BAD_REQUEST);
	h = judge("GET http://h:1x/ HTTP/1.1\r\n\r\n", 4096, 100, 0);
	CHECK(h.refusal == PAGE_BAD_REQUEST);
	/* The absolute form: where its path starts. */
	h = judge("GET http://h:1/x HTTP/1.1\r\n\r\n", 4096, 100, 1);
	CHECK(h.refusal == PAGE_NONE && h.path_at == strlen("GET http://h:1"));
}

/* What h1.c reads a body by, and the codings nginx refuses. */
static void bodies(void)
{
	static const char text[] = POST
		"Host: x\r\nContent-Length: 12\r\n"
		"Expect: 100-Continue\r\nX-Neg:  PROCESSING \r\n\r\nbody...";
	struct head h = judge(text, 4096, 100, 1);
	size_t len = 0;
	const char *v;

	CHECK(h.refusal == PAGE_NONE && h.length == 12 && !h.chunked && h.expect_continue);
	CHECK(h.end == strlen(text) - strlen("body..."));
	v = http_head_value(text, h.end, "x-neg", &len);
	CHECK(v && len == 10 && memcmp(v, "PROCESSING", 10) == 0);
	CHECK(http_head_value(text, h.end, "X-Ne", &len) == NULL); /* a prefix is not a name */
	CHECK(http_head_value(text, h.end, "body", &len) == NULL); /* past the head */
	h = judge(POST "Transfer-Encoding: Chunked\r\n\r\n", 4096, 100, 1);
	CHECK(h.refusal == PAGE_NONE && h.chunked && h.length == -1 && !h.expect_continue);
	h = judge(POST "Transfer-Encoding: gzip, chunked\r\n\r\n", 4096, 100, 1);
	CHECK(h.refusal == PAGE_NOT_IMPLEMENTED);
	h = judge(POST "Transfer-Encoding: gzip\r\nContent-Length: 3\r\n\r\n", 4096, 100, 1);
	CHECK(h.refusal == PAGE_NOT_IMPLEMENTED);
	h = judge(POST "Content-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", 4096, 100, 1);
	CHECK(h.refusal == PAGE_BAD_REQUEST); /* a smuggling attempt */
}

int main(void)
{
	paths();
	heads();
	bodies();
	return check_done("http_head");
}
