
/*
 * hubgated: credential vault core (DESIGN §4, Vault).
 *
 * Pure C on OpenSSL 3 libcrypto: no database, no event loop, no global
 * mutable state, so unit tests and fuzzers link this file alone.
 *
 * Keys
 *   KEK   key-encryption key, 32 bytes, read from a file that may hold
 *         several versions; the highest version is current.
 *   DEK   data key, 32 bytes, one per tenant, generated with RAND_bytes and
 *         stored only wrapped (AES-256-GCM) by a KEK.
 *
 * KEK file: one key per line, "<version> <64 hex digits>", the version a
 * positive integer below 2^32; blank lines and lines starting with '#' are
 * ignored, blanks around fields are allowed, anything else is an error.
 * A version may appear once.  The file must be a regular file of mode 0600
 * or 0400 exactly.  Error messages name the file, the line and the fault,
 * never key material; the file is read into locked memory and wiped.
 *
 * Wrapped DEK (VAULT_WRAPPED_LEN = 65 bytes):
 *   [1 format = 1][4 KEK version, big endian][12 nonce][32 ct][16 tag]
 *   AAD = "hubgate-dek\0" || tenant id (without its NUL).
 *
 * Sealed data (VAULT_SEALED_LEN(n) = n + 33 bytes):
 *   [1 format = 1][4 DEK generation, big endian][12 nonce][n ct][16 tag]
 *   AAD = "hubgate-seal\0" || the 5 header bytes
 *         || be32(len) tenant || be32(len) integration || be32(len) purpose
 *   The header is bound by the AAD, so changing the generation fails
 *   authentication like any other tamper.  The generation is chosen by the
 *   caller (it names the DEK that sealed the data, for a future DEK
 *   rotation); vault_sealed_generation() reads it back to choose the DEK.
 *
 * Memory
 *   A vault_t (with its KEKs) and a vault_dek_t (with its key) each live in
 *   their own anonymous mapping, mlock'ed and excluded from core dumps.
 *   If mlock fails (RLIMIT_MEMLOCK) the key still works, unlocked, and
 *   VAULT_F_UNLOCKED is set in vault_flags() / vault_dek_flags() so that the
 *   caller can log it once.  vault_free() and vault_dek_free() wipe with
 *   OPENSSL_cleanse before munmap; both accept NULL.  A vault_t and a
 *   vault_dek_t are owned by the caller that received them; a DEK does not
 *   refer to the vault that unwrapped it, so either may be freed first.
 *   Plaintext returned by vault_open() is written to the caller's buffer:
 *   the caller owns it and should wipe it after use.
 *
 * Return contract: every int function returns VAULT_OK (0) or a negative
 * vault_rc_e; none prints.  If err is not NULL and errlen > 0, a failing
 * call writes a NUL-terminated one-line message there (truncated to fit)
 * and a successful call leaves it untouched.  Output parameters are only
 * written on success, except that a failing vault_open() wipes out[].
 * Objects are safe to share between threads for reading (vault_dek_wrap,
 * unwrap, rewrap, seal, open); load and free are not concurrent with use.
 */

#ifndef VAULT_H
#define VAULT_H

#include <stddef.h>
#include <stdint.h>


typedef enum {
    VAULT_OK = 0,
    VAULT_ERR_ARG = -1,             /* NULL or empty argument, too long */
    VAULT_ERR_IO = -2,              /* KEK file cannot be opened or read */
    VAULT_ERR_KEK_MODE = -3,        /* KEK file not regular or not 0600/0400 */
    VAULT_ERR_KEK_SYNTAX = -4,      /* bad line, version or hex */
    VAULT_ERR_KEK_DUP = -5,         /* a version appears twice */
    VAULT_ERR_KEK_NONE = -6,        /* no key in the file */
    VAULT_ERR_KEK_VERSION = -7,     /* blob wrapped by a KEK not loaded */
    VAULT_ERR_FORMAT = -8,          /* blob too short, long, unknown format */
    VAULT_ERR_AUTH = -9,            /* tag mismatch: tamper or wrong AAD */
    VAULT_ERR_SPACE = -10,          /* output buffer too small */
    VAULT_ERR_NOMEM = -11,          /* mmap failed */
    VAULT_ERR_CRYPTO = -12,         /* OpenSSL failure, RAND_bytes */
    VAULT_ERR_MIN = -13
} vault_rc_e;


#define VAULT_KEY_LEN          32
#define VAULT_NONCE_LEN        12
#define VAULT_TAG_LEN          16
#define VAULT_HEADER_LEN       5           /* format + version */
#define VAULT_FORMAT           1

#define VAULT_OVERHEAD                                                       \
    (VAULT_HEADER_LEN + VAULT_NONCE_LEN + VAULT_TAG_LEN)
#define VAULT_WRAPPED_LEN      (VAULT_OVERHEAD + VAULT_KEY_LEN)
#define VAULT_SEALED_LEN(n)    ((size_t) (n) + VAULT_OVERHEAD)

#define VAULT_KEK_MAX          64          /* versions loaded at once */
#define VAULT_KEK_FILE_MAX     65536       /* bytes */
#define VAULT_SEAL_MAX         (1 << 20)   /* plaintext bytes */
#define VAULT_ID_MAX           1024        /* tenant, integration, purpose */

/* vault_flags(), vault_dek_flags() */
#define VAULT_F_UNLOCKED       0x01        /* mlock failed: may be swapped */


typedef struct vault_s      vault_t;
typedef struct vault_dek_s  vault_dek_t;


/*
 * Reads and checks a KEK file (format above) and returns a new vault in
 * *vp, owned by the caller (vault_free).  Errors: VAULT_ERR_ARG, _IO,
 * _KEK_MODE, _KEK_SYNTAX, _KEK_DUP, _KEK_NONE, _NOMEM.
 */
int vault_kek_load(const char *path, vault_t **vp, char *err, size_t errlen);

/*
 * The same from a buffer (borrowed, not wiped: the caller owns it); no mode
 * check.  For other key sources and for the fuzzer.
 */
int vault_kek_parse(const char *text, size_t len, vault_t **vp, char *err,
    size_t errlen);

/* Wipes and unmaps the vault; NULL is allowed. */
void vault_free(vault_t *v);

/* the current (highest) KEK version; 0 for NULL */
uint32_t vault_kek_current(const vault_t *v);

/* number of KEK versions loaded; 1 if vault_kek_has(v, version) */
size_t vault_kek_count(const vault_t *v);
int vault_kek_has(const vault_t *v, uint32_t version);

unsigned vault_flags(const vault_t *v);


/*
 * Generates a DEK for the tenant, returns it in *dekp (owned by the caller,
 * vault_dek_free) and wraps it with the current KEK into wrapped[], which
 * must hold VAULT_WRAPPED_LEN bytes.
 */
int vault_dek_new(const vault_t *v, const char *tenant, vault_dek_t **dekp,
    unsigned char *wrapped, char *err, size_t errlen);

/*
 * Unwraps a DEK with the KEK version named inside the blob.  Errors:
 * VAULT_ERR_FORMAT (length, format byte, version 0), VAULT_ERR_KEK_VERSION
 * (that version is not loaded; the message names it), VAULT_ERR_AUTH (tamper
 * or other tenant), VAULT_ERR_NOMEM.  *dekp is owned by the caller.
 */
int vault_dek_unwrap(const vault_t *v, const char *tenant,
    const unsigned char *wrapped, size_t len, vault_dek_t **dekp, char *err,
    size_t errlen);

/*
 * What `vault rotate` does to one tenant: unwraps with the blob's KEK
 * version and wraps again with the current one into out[VAULT_WRAPPED_LEN]
 * (which may be the same buffer as wrapped).  The DEK is unchanged, so
 * sealed data is untouched.  Errors: as vault_dek_unwrap.
 */
int vault_rewrap(const vault_t *v, const char *tenant,
    const unsigned char *wrapped, size_t len, unsigned char *out, char *err,
    size_t errlen);

/* KEK version named by a wrapped DEK; VAULT_ERR_FORMAT if malformed */
int vault_wrapped_version(const unsigned char *wrapped, size_t len,
    uint32_t *version);

/* Wipes and unmaps the DEK; NULL is allowed. */
void vault_dek_free(vault_dek_t *dek);

unsigned vault_dek_flags(const vault_dek_t *dek);


/*
 * Seals plaintext (at most VAULT_SEAL_MAX bytes; may be empty) for one
 * tenant, integration and purpose (non-empty NUL-terminated strings of at
 * most VAULT_ID_MAX bytes) into out[VAULT_SEALED_LEN(len)]; *outlen gets
 * the length written.  Errors: VAULT_ERR_ARG, VAULT_ERR_SPACE, _CRYPTO.
 */
int vault_seal(const vault_dek_t *dek, uint32_t generation,
    const char *tenant, const char *integration, const char *purpose,
    const unsigned char *plaintext, size_t len, unsigned char *out,
    size_t outsize, size_t *outlen, char *err, size_t errlen);

/*
 * Opens a sealed blob into out[] (at least len - VAULT_OVERHEAD bytes).
 * Errors: VAULT_ERR_FORMAT (too short, too long, unknown format byte),
 * VAULT_ERR_AUTH (any other tamper, or another tenant, integration or
 * purpose, or another DEK), VAULT_ERR_SPACE, VAULT_ERR_ARG.
 */
int vault_open(const vault_dek_t *dek, const char *tenant,
    const char *integration, const char *purpose, const unsigned char *blob,
    size_t len, unsigned char *out, size_t outsize, size_t *outlen,
    char *err, size_t errlen);

/* DEK generation named by a sealed blob (unauthenticated until opened) */
int vault_sealed_generation(const unsigned char *blob, size_t len,
    uint32_t *generation);


/* a static description of a code; "unknown error" if out of range */
const char *vault_strerror(int rc);


#endif /* VAULT_H */
