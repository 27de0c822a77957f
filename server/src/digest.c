/*
 * digest.c - MD5 and SHA-256 fetched once (digest.h).
 */
#include "digest.h"

#include <pthread.h>

static EVP_MD *md5_fetched, *sha256_fetched;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void fetch(void)
{
	md5_fetched = EVP_MD_fetch(NULL, "MD5", NULL);
	sha256_fetched = EVP_MD_fetch(NULL, "SHA256", NULL);
}

const EVP_MD *digest_md5(void)
{
	pthread_once(&once, fetch);
	return md5_fetched ? md5_fetched : EVP_md5();
}

const EVP_MD *digest_sha256(void)
{
	pthread_once(&once, fetch);
	return sha256_fetched ? sha256_fetched : EVP_sha256();
}
