/*
 * fuzz_xml.c - the request parser's two paths side by side: whatever the
 * plain path accepts, libxml2 must accept with the same fields and values,
 * in the same order (the plain path may only ever say "not sure").
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xmlcodec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	struct kvlist plain, full;

	if (!ready) {
		xmlcodec_global_init();
		ready = 1;
	}
	if (size == 0 || memchr(data, '\0', size))
		return 0;
	kvlist_init(&plain);
	kvlist_init(&full);
	if (xmlcodec_parse_plain((const char *)data, size, &plain) == 0) {
		if (xmlcodec_parse_libxml2((const char *)data, size, &full) != 0) {
			fprintf(stderr, "plain path accepted what libxml2 refuses\n");
			abort();
		}
		if (plain.count != full.count)
			abort();
		for (size_t i = 0; i < plain.count; i++)
			if (strcmp(plain.items[i].name, full.items[i].name) != 0 ||
			    strcmp(plain.items[i].value, full.items[i].value) != 0) {
				fprintf(stderr, "field %zu: %s=%s, libxml2 %s=%s\n", i,
					plain.items[i].name, plain.items[i].value,
					full.items[i].name, full.items[i].value);
				abort();
			}
	}
	kvlist_release(&plain);
	kvlist_release(&full);
	return 0;
}
