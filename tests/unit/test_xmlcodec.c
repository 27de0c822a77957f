/* The wire format: request parsing (accepted styles and every refusal)
 * and the answer writer's exact bytes (spec 2.1, 2.2, 3.4). */
#include "check.h"

#include <stdlib.h>
#include <time.h>

#include "kv.h"
#include "util.h"
#include "xmlcodec.h"

/* ---- helpers ----------------------------------------------------------- */

static int parse(const char *body, struct kvlist *out)
{
	kvlist_init(out);
	return xmlcodec_parse(body, strlen(body), out);
}

/* Parses a body that must be refused; returns 1 when it was, with the
 * list left empty. */
static int refused_n(const char *body, size_t len)
{
	struct kvlist l;
	kvlist_init(&l);
	int rc = xmlcodec_parse(body, len, &l);
	int ok = rc == -1 && l.count == 0;
	kvlist_release(&l);
	return ok;
}

static int refused(const char *body)
{
	return refused_n(body, strlen(body));
}

static double seconds_since(const struct timespec *t0)
{
	struct timespec t1;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

/* ---- accepted styles --------------------------------------------------- */

static void php_style(void)
{
	struct kvlist l;
	const char *body = "<xml><mch_id>10000098</mch_id><total_amount>300</total_amount>"
			   "<act_name>新年红包</act_name><nonce_str>abc</nonce_str></xml>";
	CHECK(parse(body, &l) == 0);
	CHECK(l.count == 4);
	if (l.count == 4) {
		/* Document order is kept. */
		CHECK_STR(l.items[0].name, "mch_id");
		CHECK_STR(l.items[1].name, "total_amount");
		CHECK_STR(l.items[2].name, "act_name");
		CHECK_STR(l.items[3].name, "nonce_str");
	}
	CHECK_STR(kvlist_lookup(&l, "mch_id"), "10000098");
	CHECK_STR(kvlist_lookup(&l, "total_amount"), "300");
	CHECK_STR(kvlist_lookup(&l, "act_name"), "新年红包");
	kvlist_release(&l);
}

static void wechatpy_style(void)
{
	struct kvlist l;
	const char *body = "<xml>\n"
			   "<act_name><![CDATA[新年红包]]></act_name>\n"
			   "<mch_billno><![CDATA[0010010404201411170000046545]]></mch_billno>\n"
			   "<mch_id><![CDATA[10000098]]></mch_id>\n"
			   "<wishing><![CDATA[恭喜发财]]></wishing>\n"
			   "<sign><![CDATA[3FCA8C6E228C5F6D0E6BD1142EA41FA2]]></sign>\n"
			   "</xml>";
	CHECK(parse(body, &l) == 0);
	CHECK(l.count == 5);
	CHECK_STR(kvlist_lookup(&l, "act_name"), "新年红包");
	CHECK_STR(kvlist_lookup(&l, "mch_billno"), "0010010404201411170000046545");
	CHECK_STR(kvlist_lookup(&l, "wishing"), "恭喜发财");
	CHECK_STR(kvlist_lookup(&l, "sign"), "3FCA8C6E228C5F6D0E6BD1142EA41FA2");
	kvlist_release(&l);
}

static void mixed_and_declaration(void)
{
	struct kvlist l;
	/* node-tenpay: declaration; wechatpy: digits bare, text in CDATA,
	 * indented with spaces and CRLF. */
	const char *body = "<?xml version=\"1.0\"?>\r\n<xml>\r\n  <total_num>3</total_num>\r\n"
			   "  <send_name><![CDATA[天虹百货]]></send_name>\r\n"
			   "  <remark></remark>\r\n  <empty/>\r\n</xml>\r\n";
	CHECK(parse(body, &l) == 0);
	CHECK(l.count == 4);
	CHECK_STR(kvlist_lookup(&l, "total_num"), "3");
	CHECK_STR(kvlist_lookup(&l, "send_name"), "天虹百货");
	/* Empty elements are present with an empty value. */
	CHECK_STR(kvlist_lookup(&l, "remark"), "");
	CHECK_STR(kvlist_lookup(&l, "empty"), "");
	kvlist_release(&l);

	CHECK(parse("<?xml version=\"1.0\" encoding=\"UTF-8\"?><xml><a>1</a></xml>", &l) == 0);
	CHECK_STR(kvlist_lookup(&l, "a"), "1");
	kvlist_release(&l);
}

static void entities_and_cdata(void)
{
	struct kvlist l;
	const char *body = "<xml><a>x&lt;y&amp;z&gt;&quot;&apos;</a>"
			   "<b><![CDATA[<&>]]></b>"
			   "<c>pre<![CDATA[<mid>]]>post</c>"
			   "<d>&#20320;&#x597D;</d>"
			   "<e>  spaced  </e></xml>";
	CHECK(parse(body, &l) == 0);
	CHECK_STR(kvlist_lookup(&l, "a"), "x<y&z>\"'");
	CHECK_STR(kvlist_lookup(&l, "b"), "<&>");
	CHECK_STR(kvlist_lookup(&l, "c"), "pre<mid>post");
	CHECK_STR(kvlist_lookup(&l, "d"), "你好");
	/* Values are not trimmed. */
	CHECK_STR(kvlist_lookup(&l, "e"), "  spaced  ");
	kvlist_release(&l);
}

static void max_fields_accepted(void)
{
	struct buf b;
	struct kvlist l;
	buf_init(&b);
	buf_puts(&b, "<xml>");
	for (int i = 0; i < XMLCODEC_MAX_FIELDS; i++)
		buf_printf(&b, "<f%d>%d</f%d>", i, i, i);
	buf_puts(&b, "</xml>");
	kvlist_init(&l);
	CHECK(xmlcodec_parse(b.data, b.len, &l) == 0);
	CHECK(l.count == XMLCODEC_MAX_FIELDS);
	CHECK_STR(kvlist_lookup(&l, "f127"), "127");
	kvlist_release(&l);
	buf_release(&b);
}

/* ---- refusals ---------------------------------------------------------- */

static void refusals_simple(void)
{
	CHECK(refused(""));
	CHECK(refused_n("<xml></xml>", 0));
	CHECK(refused("   \n"));
	CHECK(refused("not xml at all"));
	CHECK(refused("<xml><a>1</a>"));	   /* unclosed root */
	CHECK(refused("<xml><a>1</b></xml>"));	   /* mismatched tags */
	CHECK(refused("<xml><a>1</a></xml><x/>")); /* two roots */
	CHECK(refused("<root><a>1</a></root>"));   /* root not xml */
	CHECK(refused("<XML><a>1</a></XML>"));	   /* case-sensitive */
	CHECK(refused("<xml xmlns=\"urn:x\"><a>1</a></xml>"));
	CHECK(refused("<xml><a><b>1</b></a></xml>"));  /* nested */
	CHECK(refused("<xml><a>1<b/></a></xml>"));     /* nested, mixed */
	CHECK(refused("<xml><a>1</a><a>2</a></xml>")); /* duplicate */
	CHECK(refused("<xml>text<a>1</a></xml>"));     /* text between elements */
	CHECK(refused("<xml><a>1</a>tail</xml>"));
	CHECK(refused("<xml><a>1</a><![CDATA[x]]></xml>"));
	CHECK(refused("<xml><a>&unknown;</a></xml>")); /* undeclared entity */
	CHECK(refused("<xml><a>&#0;</a></xml>"));      /* invalid character reference */
}

static void refusals_dtd(void)
{
	struct timespec t0;
	/* Billion laughs: refused, and quickly (no expansion). */
	const char *laughs = "<?xml version=\"1.0\"?>\n"
			     "<!DOCTYPE xml [\n"
			     "<!ENTITY a \"lollollollollollollollollollol\">\n"
			     "<!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\">\n"
			     "<!ENTITY c \"&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;\">\n"
			     "<!ENTITY d \"&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;\">\n"
			     "<!ENTITY e \"&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;\">\n"
			     "<!ENTITY f \"&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;\">\n"
			     "<!ENTITY g \"&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;\">\n"
			     "<!ENTITY h \"&g;&g;&g;&g;&g;&g;&g;&g;&g;&g;\">\n"
			     "<!ENTITY i \"&h;&h;&h;&h;&h;&h;&h;&h;&h;&h;\">\n"
			     "]>\n"
			     "<xml><a>&i;</a></xml>";
	clock_gettime(CLOCK_MONOTONIC, &t0);
	CHECK(refused(laughs));
	CHECK(seconds_since(&t0) < 0.5);

	/* XXE: an external SYSTEM entity must never be read. */
	CHECK(refused("<?xml version=\"1.0\"?>\n"
		      "<!DOCTYPE xml [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]>\n"
		      "<xml><a>&xxe;</a></xml>"));
	CHECK(refused("<!DOCTYPE xml SYSTEM \"http://127.0.0.1:1/x.dtd\"><xml><a>1</a></xml>"));
	/* A harmless DOCTYPE is refused too. */
	CHECK(refused("<!DOCTYPE xml><xml><a>1</a></xml>"));
	CHECK(refused("<!DOCTYPE xml [<!ENTITY e \"v\">]><xml><a>&e;</a></xml>"));
	/* Parameter entities. */
	CHECK(refused("<!DOCTYPE xml [<!ENTITY % p \"<!ENTITY q 'v'>\"> %p;]>"
		      "<xml><a>&q;</a></xml>"));
}

static void refusals_bytes(void)
{
	/* Invalid UTF-8: a lone continuation byte, an overlong form, a
	 * truncated sequence. */
	CHECK(refused("<xml><a>\x80</a></xml>"));
	CHECK(refused("<xml><a>\xC0\xAF</a></xml>"));
	CHECK(refused("<xml><a>\xE4\xBD</a></xml>"));
	CHECK(refused("<xml><a>ok</a><b>\xFF\xFE</b></xml>"));
	/* An embedded NUL: in a value, and between the elements. */
	static const char nul1[] = "<xml><a>1\0002</a></xml>";
	static const char nul2[] = "<xml><a>1</a>\000<b>2</b></xml>";
	static const char nul3[] = "<xml><a>1</a></xml>\000";
	static const char nul4[] = "<xml><a>1</a></xml>\000<evil>x</evil>";
	CHECK(refused_n(nul1, sizeof(nul1) - 1));
	CHECK(refused_n(nul2, sizeof(nul2) - 1));
	/* After the root: the body is len bytes, not a C string; whatever
	 * follows a NUL must not be silently dropped. */
	CHECK(refused_n(nul3, sizeof(nul3) - 1));
	CHECK(refused_n(nul4, sizeof(nul4) - 1));
	/* Control characters are not XML characters. */
	CHECK(refused("<xml><a>\x01</a></xml>"));
}

static void refusals_size(void)
{
	struct buf b;
	struct timespec t0;

	buf_init(&b);
	buf_puts(&b, "<xml>");
	for (int i = 0; i <= XMLCODEC_MAX_FIELDS; i++)
		buf_printf(&b, "<f%d>%d</f%d>", i, i, i);
	buf_puts(&b, "</xml>");
	CHECK(refused_n(b.data, b.len));

	/* 10000 levels of nesting: refused, fast, no stack overflow. */
	buf_reset(&b);
	buf_puts(&b, "<xml>");
	for (int i = 0; i < 10000; i++)
		buf_puts(&b, "<a>");
	for (int i = 0; i < 10000; i++)
		buf_puts(&b, "</a>");
	buf_puts(&b, "</xml>");
	clock_gettime(CLOCK_MONOTONIC, &t0);
	CHECK(refused_n(b.data, b.len));
	CHECK(seconds_since(&t0) < 0.5);
	buf_release(&b);
}

/* A failed parse after a good one leaves no stale state behind. */
static void parse_after_failure(void)
{
	struct kvlist l;
	CHECK(refused("<xml><a>1</a><a>2</a></xml>"));
	CHECK(parse("<xml><a>1</a></xml>", &l) == 0);
	CHECK(l.count == 1);
	kvlist_release(&l);
}

/* ---- the writer -------------------------------------------------------- */

static void writer_layout(void)
{
	struct buf b;
	buf_init(&b);
	xmlcodec_begin(&b);
	xmlcodec_cdata(&b, "return_code", "SUCCESS");
	xmlcodec_cdata(&b, "return_msg", "发放成功");
	xmlcodec_cdata(&b, "result_code", "SUCCESS");
	xmlcodec_cdata(&b, "err_code", "SUCCESS");
	xmlcodec_cdata(&b, "err_code_des", "发放成功");
	xmlcodec_cdata(&b, "mch_billno", "16610964586166018");
	xmlcodec_cdata(&b, "mch_id", "1617446954");
	xmlcodec_cdata(&b, "wxappid", "wx9f4ab53be3e5e226");
	xmlcodec_cdata(&b, "re_openid", "odgJP5w-s6pRav3pIcIeB1urmqX8");
	xmlcodec_bare(&b, "total_amount", 200);
	xmlcodec_cdata(&b, "send_listid", "1000041701202208213033416589419");
	xmlcodec_end(&b);
	/* Spec 3.4 S1, byte for byte. */
	CHECK_STR(b.data, "<xml>\n"
			  "<return_code><![CDATA[SUCCESS]]></return_code>\n"
			  "<return_msg><![CDATA[发放成功]]></return_msg>\n"
			  "<result_code><![CDATA[SUCCESS]]></result_code>\n"
			  "<err_code><![CDATA[SUCCESS]]></err_code>\n"
			  "<err_code_des><![CDATA[发放成功]]></err_code_des>\n"
			  "<mch_billno><![CDATA[16610964586166018]]></mch_billno>\n"
			  "<mch_id><![CDATA[1617446954]]></mch_id>\n"
			  "<wxappid><![CDATA[wx9f4ab53be3e5e226]]></wxappid>\n"
			  "<re_openid><![CDATA[odgJP5w-s6pRav3pIcIeB1urmqX8]]></re_openid>\n"
			  "<total_amount>200</total_amount>\n"
			  "<send_listid><![CDATA[1000041701202208213033416589419]]></send_listid>\n"
			  "</xml>");
	CHECK(b.len == strlen(b.data));
	CHECK(b.len > 0 && b.data[b.len - 1] == '>'); /* no final line feed */
	buf_release(&b);

	/* Empty value: empty CDATA (spec F2); bare zero and negatives. */
	buf_init(&b);
	xmlcodec_begin(&b);
	xmlcodec_cdata(&b, "mch_billno", "");
	xmlcodec_bare(&b, "mch_id", 0);
	xmlcodec_bare(&b, "total_amount", -5);
	xmlcodec_open(&b, "hblist");
	xmlcodec_close(&b, "hblist");
	xmlcodec_end(&b);
	CHECK_STR(b.data, "<xml>\n<mch_billno><![CDATA[]]></mch_billno>\n<mch_id>0</mch_id>\n"
			  "<total_amount>-5</total_amount>\n<hblist>\n</hblist>\n</xml>");
	buf_release(&b);

	buf_init(&b);
	xmlcodec_begin(&b);
	xmlcodec_bare(&b, "n", INT64_MAX);
	xmlcodec_end(&b);
	CHECK_STR(b.data, "<xml>\n<n>9223372036854775807</n>\n</xml>");
	buf_release(&b);
}

/* What the writer produces must parse back to the same values. */
static void writer_roundtrip(const char *value)
{
	struct buf b;
	struct kvlist l;
	buf_init(&b);
	xmlcodec_begin(&b);
	xmlcodec_cdata(&b, "v", value);
	xmlcodec_cdata(&b, "after", "ok");
	xmlcodec_end(&b);
	kvlist_init(&l);
	CHECK(xmlcodec_parse(b.data, b.len, &l) == 0);
	CHECK_STR(kvlist_lookup(&l, "v"), value);
	CHECK_STR(kvlist_lookup(&l, "after"), "ok");
	kvlist_release(&l);
	buf_release(&b);
}

static void writer_cdata_end(void)
{
	struct buf b;
	buf_init(&b);
	xmlcodec_cdata(&b, "v", "a]]>b");
	/* "]]>" never appears inside one section: it is cut between "]]"
	 * and ">" into two sections. */
	CHECK_STR(b.data, "<v><![CDATA[a]]]]><![CDATA[>b]]></v>\n");
	buf_release(&b);

	writer_roundtrip("a]]>b");
	writer_roundtrip("]]>");
	writer_roundtrip("]]>]]>");
	writer_roundtrip("x]]]>y]]>>z]");
	writer_roundtrip("<&>\"'");
	writer_roundtrip("参数错误:订单号字段必填,最长为28个字符.");
	writer_roundtrip("");
}

int main(void)
{
	xmlcodec_global_init();
	php_style();
	wechatpy_style();
	mixed_and_declaration();
	entities_and_cdata();
	max_fields_accepted();
	refusals_simple();
	refusals_dtd();
	refusals_bytes();
	refusals_size();
	parse_after_failure();
	writer_layout();
	writer_cdata_end();
	xmlcodec_global_release();
	return check_done("xmlcodec");
}
