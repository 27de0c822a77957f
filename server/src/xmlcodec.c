/*
 * xmlcodec.c - flat XML requests (libxml2) and answers (hand written).
 */
#include "xmlcodec.h"

#include <inttypes.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/parserInternals.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>

static void on_xml_error(void *ctx, const xmlError *err)
{
	(void)ctx;
	(void)err;
}

void xmlcodec_global_init(void)
{
	xmlInitParser();
	xmlSetStructuredErrorFunc(NULL, (xmlStructuredErrorFunc)on_xml_error);
	/* The handler is per thread: the same for threads started later
	 * (the store's, handoff.h). */
	xmlThrDefSetStructuredErrorFunc(NULL, (xmlStructuredErrorFunc)on_xml_error);
}

void xmlcodec_global_release(void)
{
	xmlcodec_thread_release();
	xmlCleanupParser();
}

/* ---- request parser ---------------------------------------------------- */

/* The request is read through SAX callbacks, with no tree built: <xml> at
 * depth 1, its leaf elements at depth 2, nothing deeper. What a tree walk
 * would have accepted, and only that: a leaf's text and CDATA joined,
 * comments and processing instructions skipped, blank text between the
 * leaves, attributes ignored; an element in a namespace, a non-blank text
 * or a CDATA section between the leaves, an element inside a leaf, a
 * duplicate or one element too many refused. An element with a prefix
 * that names no namespace is a well-formed document whose element is
 * named "prefix:name" (libxml2's tree had it so). */
struct sax_state {
	struct kvlist *out;
	struct buf name;  /* the open leaf's name */
	struct buf value; /* its text so far */
	int depth;
	int refused;
};

/* A parser context per thread, reset for each parse: creating one (its
 * dictionary, tables and handler) cost more than the parse itself. It is
 * made anew once its dictionary of names has grown past a bound, so
 * clients sending ever new element names cannot grow it for ever. */
#define PARSER_MAX_NAMES 4096

static _Thread_local xmlParserCtxtPtr parser;
/* The parse under way on this thread (libxml2 resets the context's own
 * user fields when it starts a document). */
static _Thread_local struct sax_state *current;

static struct sax_state *state_of(void *ctx)
{
	(void)ctx;
	return current;
}

/* A DOCTYPE of any kind stops the parse before its subset is read, so
 * no entity is ever declared, let alone expanded. */
static void on_doctype(void *ctx, const xmlChar *name, const xmlChar *external_id,
		       const xmlChar *system_id)
{
	(void)name;
	(void)external_id;
	(void)system_id;
	state_of(ctx)->refused = 1;
	xmlStopParser((xmlParserCtxtPtr)ctx);
}

static void qualified_name(struct buf *out, const xmlChar *prefix, const xmlChar *localname)
{
	buf_reset(out);
	if (prefix) {
		buf_puts(out, (const char *)prefix);
		buf_puts(out, ":");
	}
	buf_puts(out, (const char *)localname);
}

static void on_start(void *ctx, const xmlChar *localname, const xmlChar *prefix, const xmlChar *uri,
		     int nb_namespaces, const xmlChar **namespaces, int nb_attributes,
		     int nb_defaulted, const xmlChar **attributes)
{
	struct sax_state *st = state_of(ctx);
	(void)nb_namespaces, (void)namespaces, (void)nb_attributes, (void)nb_defaulted,
		(void)attributes;

	st->depth++;
	if (st->refused)
		return;
	if (uri || st->depth > 2) {
		st->refused = 1;
		return;
	}
	qualified_name(&st->name, prefix, localname);
	if (st->depth == 1) {
		if (strcmp(st->name.data, "xml") != 0)
			st->refused = 1;
		return;
	}
	if (kvlist_lookup(st->out, st->name.data) || st->out->count >= XMLCODEC_MAX_FIELDS) {
		st->refused = 1;
		return;
	}
	buf_reset(&st->value);
}

static void on_end(void *ctx, const xmlChar *localname, const xmlChar *prefix, const xmlChar *uri)
{
	struct sax_state *st = state_of(ctx);
	(void)localname, (void)prefix, (void)uri;

	if (st->depth-- == 2 && !st->refused)
		kvlist_add(st->out, st->name.data, st->value.data ? st->value.data : "");
}

static int is_blank(const xmlChar *s, int len)
{
	for (int i = 0; i < len; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n')
			return 0;
	return 1;
}

static void on_text(void *ctx, const xmlChar *text, int len)
{
	struct sax_state *st = state_of(ctx);

	if (st->depth == 2)
		buf_append(&st->value, text, (size_t)len);
	else if (st->depth == 1 && !is_blank(text, len))
		st->refused = 1;
}

static void on_cdata(void *ctx, const xmlChar *text, int len)
{
	struct sax_state *st = state_of(ctx);

	if (st->depth == 2)
		buf_append(&st->value, text, (size_t)len);
	else if (st->depth == 1)
		st->refused = 1;
}

/* An entity left as a reference (never: without a DTD none is declared). */
static void on_reference(void *ctx, const xmlChar *name)
{
	(void)name;
	state_of(ctx)->refused = 1;
}

static void on_nothing(void *ctx)
{
	(void)ctx;
}

static void on_skipped(void *ctx, const xmlChar *a, const xmlChar *b)
{
	(void)ctx, (void)a, (void)b;
}

static void on_comment(void *ctx, const xmlChar *text)
{
	(void)ctx, (void)text;
}

static xmlParserCtxtPtr parser_get(void)
{
	if (parser && xmlDictSize(parser->dict) > PARSER_MAX_NAMES) {
		xmlFreeParserCtxt(parser);
		parser = NULL;
	}
	if (!parser) {
		xmlSAXHandler sax;

		xmlSAXVersion(&sax, 2);
		sax.startDocument = on_nothing;
		sax.endDocument = on_nothing;
		sax.internalSubset = on_doctype;
		sax.startElementNs = on_start;
		sax.endElementNs = on_end;
		sax.characters = on_text;
		sax.ignorableWhitespace = on_text;
		sax.cdataBlock = on_cdata;
		sax.reference = on_reference;
		sax.comment = on_comment;
		sax.processingInstruction = on_skipped;
		parser = xmlNewParserCtxt();
		if (parser)
			*parser->sax = sax;
	}
	return parser;
}

void xmlcodec_thread_release(void)
{
	if (parser)
		xmlFreeParserCtxt(parser);
	parser = NULL;
}

/* ---- the plain case, without libxml2 ----------------------------------- */

/* What merchant SDKs send is a small part of XML: <xml>, then leaf
 * elements with ASCII names holding text or CDATA, blanks between. For a
 * body entirely of that part, the result is certain and found at a few
 * instructions a byte (libxml2 took about ninety: two thirds of a
 * SIGN_ERROR answer's parse). Anything else (a declaration, a comment,
 * a reference, an attribute, a prefix, a carriage return, a control
 * character, a duplicate...) is not judged here: libxml2 parses the body
 * from the start. So this path only ever accepts, and only what libxml2
 * accepts, with the same values (a differential fuzz of the two agreed
 * over 766,000 inputs). */
enum { PLAIN_OK, PLAIN_UNSURE };

static int is_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n';
}

static size_t skip_spaces(const unsigned char *p, size_t i, size_t n)
{
	while (i < n && is_space(p[i]))
		i++;
	return i;
}

static int name_start(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static int name_char(unsigned char c)
{
	return name_start(c) || (c >= '0' && c <= '9') || c == '-' || c == '.';
}

/* The length of the XML character at p (valid UTF-8 of a code point XML
 * allows in text, tab and line feed the only controls), or 0. */
static size_t text_char(const unsigned char *p, size_t n)
{
	uint32_t cp;

	if (*p < 0x80) /* ASCII, most of a body: no decoding */
		return *p >= 0x20 || *p == '\t' || *p == '\n' ? 1 : 0;
	size_t len = utf8_decode(p, n, &cp);

	if (len == 1)
		return cp >= 0x20 || cp == '\t' || cp == '\n' ? 1 : 0;
	return cp == 0xFFFE || cp == 0xFFFF ? 0 : len;
}

/* Bytes the scans below stop at: in text, '<' (its end), '&', '>' (of a
 * "]]>"); in CDATA, ']'; in both, a control or a byte over 0x7F (judged
 * by text_char). Everything else is printable ASCII, taken as it is. */
enum { STOP_TEXT = 1, STOP_CDATA = 2 };

static const unsigned char stops[256] = {
	[0x00 ... 0x1F] = STOP_TEXT | STOP_CDATA,
	['<'] = STOP_TEXT,
	['&'] = STOP_TEXT,
	['>'] = STOP_TEXT,
	[']'] = STOP_CDATA,
	[0x80 ... 0xFF] = STOP_TEXT | STOP_CDATA,
};

/* Text up to the next '<': appended to val; PLAIN_UNSURE at a '&', a
 * "]]>", a carriage return or anything that is not an XML character. */
static int plain_text(const unsigned char *p, size_t *i, size_t n, struct buf *val)
{
	size_t start = *i, k = *i;

	for (;;) {
		while (k < n && !(stops[p[k]] & STOP_TEXT))
			k++;
		if (k >= n || p[k] == '<')
			break;
		if (p[k] == '>') {
			if (k - start >= 2 && p[k - 1] == ']' && p[k - 2] == ']')
				return PLAIN_UNSURE;
			k++;
			continue;
		}
		size_t c = p[k] == '&' ? 0 : text_char(p + k, n - k);
		if (!c)
			return PLAIN_UNSURE;
		k += c;
	}
	if (val)
		buf_append(val, p + start, k - start);
	*i = k;
	return PLAIN_OK;
}

/* "<![CDATA[...]]>" at p + *i: its text appended to val. */
static int plain_cdata(const unsigned char *p, size_t *i, size_t n, struct buf *val)
{
	size_t k = *i + 9;

	if (n - *i < 12 || memcmp(p + *i, "<![CDATA[", 9) != 0)
		return PLAIN_UNSURE;
	for (;;) {
		while (k + 2 < n && !(stops[p[k]] & STOP_CDATA))
			k++;
		if (k + 2 >= n)
			return PLAIN_UNSURE;
		if (p[k] == ']') {
			if (p[k + 1] == ']' && p[k + 2] == '>')
				break;
			k++;
			continue;
		}
		size_t c = text_char(p + k, n - k);
		if (!c)
			return PLAIN_UNSURE;
		k += c;
	}
	buf_append(val, p + *i + 9, k - *i - 9);
	*i = k + 3;
	return PLAIN_OK;
}

/* The length of the ASCII name at p + i (0: none). */
static size_t plain_name(const unsigned char *p, size_t i, size_t n)
{
	size_t k = i;

	if (k >= n || !name_start(p[k]))
		return 0;
	while (k < n && name_char(p[k]))
		k++;
	return k - i;
}

static int plain_parse(const char *body, size_t n, struct kvlist *out)
{
	const unsigned char *p = (const unsigned char *)body;
	struct buf name, val;
	size_t i = skip_spaces(p, 0, n);
	int rc = PLAIN_UNSURE;

	buf_init(&name);
	buf_init(&val);
	if (n - i < 11 || memcmp(p + i, "<xml>", 5) != 0)
		goto out;
	i += 5;
	for (;;) {
		size_t len, end;

		i = skip_spaces(p, i, n);
		if (i + 1 >= n || p[i] != '<')
			goto out;
		if (p[i + 1] == '/') {
			if (n - i < 6 || memcmp(p + i, "</xml>", 6) != 0)
				goto out;
			if (skip_spaces(p, i + 6, n) != n)
				goto out;
			rc = PLAIN_OK;
			goto out;
		}
		len = plain_name(p, i + 1, n);
		end = i + 1 + len;
		if (!len || end + 1 >= n || out->count >= XMLCODEC_MAX_FIELDS)
			goto out;
		buf_reset(&name);
		buf_append(&name, p + i + 1, len);
		buf_reset(&val);
		if (kvlist_lookup(out, name.data))
			goto out;
		if (p[end] == '/' && p[end + 1] == '>') {
			i = end + 2;
		} else {
			if (p[end] != '>')
				goto out;
			i = end + 1;
			for (;;) {
				if (plain_text(p, &i, n, &val) != PLAIN_OK || i + 1 >= n)
					goto out;
				if (p[i + 1] == '!') {
					if (plain_cdata(p, &i, n, &val) != PLAIN_OK)
						goto out;
					continue;
				}
				if (p[i + 1] != '/' || n - i < len + 3 ||
				    memcmp(p + i + 2, name.data, len) != 0 || p[i + 2 + len] != '>')
					goto out;
				i += len + 3;
				break;
			}
		}
		kvlist_add(out, name.data, val.data ? val.data : "");
	}
out:
	buf_release(&name);
	buf_release(&val);
	return rc;
}

int xmlcodec_parse_libxml2(const char *body, size_t len, struct kvlist *out)
{
	xmlParserCtxtPtr ctxt;
	xmlDocPtr doc;
	struct sax_state st = {.out = out};
	int rc = -1;

	if (!(ctxt = parser_get()))
		return -1;
	buf_init(&st.name);
	buf_init(&st.value);
	current = &st;
	doc = xmlCtxtReadMemory(ctxt, body, (int)len, NULL, NULL,
				XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	current = NULL;
	if (ctxt->wellFormed && !ctxt->disableSAX && !st.refused)
		rc = 0;
	if (doc) /* never built by these callbacks */
		xmlFreeDoc(doc);
	buf_release(&st.name);
	buf_release(&st.value);
	if (rc != 0)
		kvlist_release(out);
	return rc;
}

int xmlcodec_parse_plain(const char *body, size_t len, struct kvlist *out)
{
	if (out->count == 0 && plain_parse(body, len, out) == PLAIN_OK)
		return 0;
	kvlist_release(out); /* what the plain path added, if anything */
	return -1;
}

int xmlcodec_parse(const char *body, size_t len, struct kvlist *out)
{
	/* libxml2 stops at a NUL and would ignore what follows it. */
	if (!body || len == 0 || len > INT32_MAX || memchr(body, '\0', len))
		return -1;
	if (out->count == 0 && xmlcodec_parse_plain(body, len, out) == 0)
		return 0;
	return xmlcodec_parse_libxml2(body, len, out);
}

/* ---- answer writer ---------------------------------------------------- */

/* An answer is 300 to 900 bytes: room for it at once, not in five
 * doublings from 64. */
#define ANSWER_ROOM 1024

void xmlcodec_begin(struct buf *out)
{
	buf_reserve(out, ANSWER_ROOM);
	buf_puts(out, "<xml>\n");
}

/* "<name>" or "</name>": the writers below run for every element of
 * every answer, so they append pieces instead of formatting. */
static void tag(struct buf *out, const char *open, const char *name, const char *close)
{
	buf_puts(out, open);
	buf_puts(out, name);
	buf_puts(out, close);
}

void xmlcodec_cdata(struct buf *out, const char *name, const char *value)
{
	static const char open[] = "><![CDATA[", close[] = "]]></", split[] = "]]><![CDATA[";
	size_t n = strlen(name), len = strlen(value);
	const char *end = memchr(value, ']', len) ? strstr(value, "]]>") : NULL;

	/* Every answer writes a dozen of these: the usual case, no "]]>" in
	 * the value, is one reservation and straight copies. */
	if (!end) {
		buf_reserve(out, 2 * n + len + sizeof(open) + sizeof(close) + 1);
		char *p = out->data + out->len;
		*p++ = '<';
		memcpy(p, name, n), p += n;
		memcpy(p, open, sizeof(open) - 1), p += sizeof(open) - 1;
		memcpy(p, value, len), p += len;
		memcpy(p, close, sizeof(close) - 1), p += sizeof(close) - 1;
		memcpy(p, name, n), p += n;
		*p++ = '>';
		*p++ = '\n';
		out->len = (size_t)(p - out->data);
		out->data[out->len] = '\0';
		return;
	}
	tag(out, "<", name, open);
	/* "]]>" cannot appear inside a CDATA section: split it across two. */
	for (const char *p = value; *p;) {
		end = strstr(p, "]]>");
		if (!end) {
			buf_puts(out, p);
			break;
		}
		buf_append(out, p, (size_t)(end - p) + 2);
		buf_puts(out, split);
		p = end + 2;
	}
	tag(out, close, name, ">\n");
}

void xmlcodec_bare(struct buf *out, const char *name, int64_t value)
{
	char digits[24];
	char *p = digits + sizeof(digits);
	uint64_t v = value < 0 ? (uint64_t)0 - (uint64_t)value : (uint64_t)value;

	*--p = '\0';
	do
		*--p = (char)('0' + v % 10);
	while ((v /= 10) != 0);
	if (value < 0)
		*--p = '-';
	tag(out, "<", name, ">");
	tag(out, p, "</", name);
	buf_puts(out, ">\n");
}

void xmlcodec_open(struct buf *out, const char *name)
{
	tag(out, "<", name, ">\n");
}

void xmlcodec_close(struct buf *out, const char *name)
{
	tag(out, "</", name, ">\n");
}

void xmlcodec_end(struct buf *out)
{
	buf_puts(out, "</xml>");
}
