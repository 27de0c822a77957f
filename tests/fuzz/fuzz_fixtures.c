/*
 * fuzz_fixtures.c - the fixtures checker fed raw bytes; whatever it
 * accepts must also load into a fresh store.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fixtures.h"
#include "store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[512], path[] = "/tmp/fuzz-fixtures-XXXXXX";
	struct store *s;
	int fd;

	if (fixtures_check_text((const char *)data, size, err, sizeof(err)) != 0)
		return 0;
	/* Accepted: it must load (through the file path, as the server does). */
	fd = mkstemp(path);
	if (fd < 0)
		return 0;
	if (write(fd, data, size) != (ssize_t)size) {
		close(fd);
		unlink(path);
		return 0;
	}
	close(fd);
	s = store_open(":memory:", err, sizeof(err));
	if (!s)
		abort();
	if (fixtures_load(s, path, 1795000000, 0, err, sizeof(err)) == -1) {
		/* Only a database constraint may refuse a checked document
		 * (an openid or appid listed twice). */
		if (!strstr(err, "cannot write the fixtures"))
			abort();
	}
	store_close(s);
	unlink(path);
	return 0;
}
