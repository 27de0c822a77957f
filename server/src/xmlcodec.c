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
}

void xmlcodec_global_release(void)
{
	xmlCleanupParser();
}

/* A DOCTYPE of any kind stops the parse before its subset is read, so
 * no entity is ever declared, let alone expanded. */
static void on_doctype(void *ctx, const xmlChar *name, const xmlChar *external_id,
		       const xmlChar *system_id)
{
	(void)name;
	(void)external_id;
	(void)system_id;
	xmlStopParser((xmlParserCtxtPtr)ctx);
}

static int is_blank(const xmlChar *s)
{
	for (; s && *s; s++)
		if (*s != ' ' && *s != '\t' && *s != '\r' && *s != '\n')
			return 0;
	return 1;
}

/* The text of a leaf element: text and CDATA children concatenated.
 * Returns -1 when the element has element children or entity refs. */
static int leaf_value(xmlNodePtr el, struct buf *val)
{
	for (xmlNodePtr c = el->children; c; c = c->next) {
		switch (c->type) {
		case XML_TEXT_NODE:
		case XML_CDATA_SECTION_NODE:
			if (c->content)
				buf_puts(val, (const char *)c->content);
			break;
		case XML_COMMENT_NODE:
		case XML_PI_NODE:
			break;
		default:
			return -1;
		}
	}
	return 0;
}

static int collect(xmlNodePtr root, struct kvlist *out)
{
	struct buf val;
	int rc = -1;

	buf_init(&val);
	if (!root || root->type != XML_ELEMENT_NODE || root->ns ||
	    strcmp((const char *)root->name, "xml") != 0)
		goto out;
	for (xmlNodePtr c = root->children; c; c = c->next) {
		if (c->type == XML_COMMENT_NODE || c->type == XML_PI_NODE)
			continue;
		if (c->type == XML_TEXT_NODE && is_blank(c->content))
			continue;
		if (c->type != XML_ELEMENT_NODE || c->ns)
			goto out;
		const char *name = (const char *)c->name;
		if (kvlist_lookup(out, name) || out->count >= XMLCODEC_MAX_FIELDS)
			goto out;
		buf_reset(&val);
		if (leaf_value(c, &val) != 0)
			goto out;
		kvlist_add(out, name, val.data ? val.data : "");
	}
	rc = 0;
out:
	buf_release(&val);
	return rc;
}

int xmlcodec_parse(const char *body, size_t len, struct kvlist *out)
{
	xmlParserCtxtPtr ctxt = NULL;
	int rc = -1;

	/* libxml2 stops at a NUL and would ignore what follows it. */
	if (!body || len == 0 || len > INT32_MAX || memchr(body, '\0', len))
		return -1;
	ctxt = xmlCreateMemoryParserCtxt(body, (int)len);
	if (!ctxt)
		return -1;
	ctxt->sax->internalSubset = on_doctype;
	xmlCtxtUseOptions(ctxt, XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	if (xmlParseDocument(ctxt) != 0 || !ctxt->wellFormed || ctxt->disableSAX || !ctxt->myDoc)
		goto out;
	if (ctxt->myDoc->intSubset || ctxt->myDoc->extSubset)
		goto out;
	rc = collect(xmlDocGetRootElement(ctxt->myDoc), out);
out:
	if (rc != 0)
		kvlist_release(out);
	if (ctxt->myDoc)
		xmlFreeDoc(ctxt->myDoc);
	xmlFreeParserCtxt(ctxt);
	return rc;
}

/* ---- answer writer ---------------------------------------------------- */

void xmlcodec_begin(struct buf *out)
{
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
	tag(out, "<", name, "><![CDATA[");
	/* "]]>" cannot appear inside a CDATA section: split it across two. */
	for (const char *p = value; *p;) {
		const char *end = strstr(p, "]]>");
		if (!end) {
			buf_puts(out, p);
			break;
		}
		buf_append(out, p, (size_t)(end - p) + 2);
		buf_puts(out, "]]><![CDATA[");
		p = end + 2;
	}
	tag(out, "]]></", name, ">\n");
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
