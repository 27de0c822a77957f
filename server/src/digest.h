/*
 * digest.h - the message digests the server computes on every request
 * (MD5 for the v2 signature, SHA-256 for the split's seed), fetched from
 * OpenSSL's provider once: EVP_md5() or EVP_sha256() in each EVP_Digest
 * made OpenSSL 3 look them up again, under a lock, every time. Kept for
 * the process's life.
 */
#ifndef REDPACK_DIGEST_H
#define REDPACK_DIGEST_H

#include <openssl/evp.h>

const EVP_MD *digest_md5(void);
const EVP_MD *digest_sha256(void);

#endif
