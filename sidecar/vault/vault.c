
/*
 * hubgated: credential vault core.  Contract and formats in vault.h.
 */

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "vault.h"


#define VAULT_DEK_LABEL   "hubgate-dek"          /* AAD gets its NUL too */
#define VAULT_SEAL_LABEL  "hubgate-seal"
#define VAULT_SEAL_NAAD   8                      /* see vault_seal_aad */


typedef struct {
    uint32_t        version;
    unsigned char   key[VAULT_KEY_LEN];
} vault_kek_t;


/* lives in its own locked mapping, map_len bytes */
struct vault_s {
    size_t          map_len;
    unsigned        flags;
    size_t          nkeks;
    size_t          current;                 /* index of highest version */
    vault_kek_t     keks[VAULT_KEK_MAX];
};


/* likewise */
struct vault_dek_s {
    size_t          map_len;
    unsigned        flags;
    unsigned char   key[VAULT_KEY_LEN];
};


/* one piece of associated data */
typedef struct {
    const void     *data;
    size_t          len;
} vault_aad_t;


static void vault_err(char *err, size_t errlen, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
static void *vault_secure_alloc(size_t size, size_t *map_len,
    unsigned *flags);
static void vault_secure_free(void *p, size_t map_len);
static vault_dek_t *vault_dek_alloc(void);
static int vault_parse_line(vault_t *v, const char *p, const char *end,
    size_t lineno, char *err, size_t errlen);
static const vault_kek_t *vault_kek_find(const vault_t *v, uint32_t version);
static int vault_check_id(const char *name, const char *id, size_t *len,
    char *err, size_t errlen);
static int vault_gcm(int enc, const unsigned char *key,
    const unsigned char *nonce, const vault_aad_t *aad, size_t naad,
    const unsigned char *in, size_t len, unsigned char *out,
    unsigned char *tag);
static int vault_wrap_with(const vault_t *v, const char *tenant,
    const vault_dek_t *dek, unsigned char *out, char *err, size_t errlen);
static int vault_seal_aad(vault_aad_t *aad, unsigned char *lens,
    const unsigned char *header, const char *tenant, const char *integration,
    const char *purpose, char *err, size_t errlen);
static void vault_put_be32(unsigned char *p, uint32_t n);
static uint32_t vault_get_be32(const unsigned char *p);


static const char  *vault_errors[] = {
    "ok",
    "invalid argument",
    "KEK file cannot be read",
    "KEK file has unsafe permissions",
    "KEK file syntax error",
    "KEK version appears twice",
    "no KEK loaded",
    "KEK version not loaded",
    "malformed blob",
    "authentication failed",
    "output buffer too small",
    "out of memory",
    "crypto library failure",
};


static void
vault_err(char *err, size_t errlen, const char *fmt, ...)
{
    va_list  ap;

    if (err == NULL || errlen == 0) {
        return;
    }

    va_start(ap, fmt);
    (void) vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}


static void *
vault_secure_alloc(size_t size, size_t *map_len, unsigned *flags)
{
    long    page;
    size_t  len;
    void   *p;

    page = sysconf(_SC_PAGESIZE);
    if (page <= 0) {
        page = 4096;
    }

    len = (size + (size_t) page - 1) / (size_t) page * (size_t) page;

    p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
             -1, 0);
    if (p == MAP_FAILED) {
        return NULL;
    }

#ifdef MADV_DONTDUMP
    (void) madvise(p, len, MADV_DONTDUMP);
#endif

    *flags = 0;
    if (mlock(p, len) != 0) {
        /* still usable; the caller reports it through VAULT_F_UNLOCKED */
        *flags |= VAULT_F_UNLOCKED;
    }

    *map_len = len;
    return p;
}


static void
vault_secure_free(void *p, size_t map_len)
{
    OPENSSL_cleanse(p, map_len);
    (void) munlock(p, map_len);      /* harmless if it was never locked */
    (void) munmap(p, map_len);
}


static vault_dek_t *
vault_dek_alloc(void)
{
    size_t        len;
    unsigned      flags;
    vault_dek_t  *dek;

    dek = vault_secure_alloc(sizeof(vault_dek_t), &len, &flags);
    if (dek == NULL) {
        return NULL;
    }

    dek->map_len = len;
    dek->flags = flags;

    return dek;
}


int
vault_kek_load(const char *path, vault_t **vp, char *err, size_t errlen)
{
    int          fd, rc, saved;
    char         msg[256];
    char        *buf;
    size_t       len, map_len;
    ssize_t      n;
    unsigned     flags;
    struct stat  st;

    if (path == NULL || vp == NULL) {
        vault_err(err, errlen, "vault: no KEK file given");
        return VAULT_ERR_ARG;
    }

    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd == -1) {
        vault_err(err, errlen, "vault: KEK file \"%s\": %s", path,
                  strerror(errno));
        return VAULT_ERR_IO;
    }

    if (fstat(fd, &st) == -1) {
        saved = errno;
        (void) close(fd);
        vault_err(err, errlen, "vault: KEK file \"%s\": %s", path,
                  strerror(saved));
        return VAULT_ERR_IO;
    }

    if (!S_ISREG(st.st_mode)) {
        (void) close(fd);
        vault_err(err, errlen, "vault: KEK file \"%s\" is not a regular file",
                  path);
        return VAULT_ERR_KEK_MODE;
    }

    if ((st.st_mode & 07777) != 0600 && (st.st_mode & 07777) != 0400) {
        (void) close(fd);
        vault_err(err, errlen, "vault: KEK file \"%s\" has mode %04o, "
                  "it must be 0600 or 0400", path,
                  (unsigned) (st.st_mode & 07777));
        return VAULT_ERR_KEK_MODE;
    }

    /* one byte more than allowed, to see that the file is too large */
    buf = vault_secure_alloc(VAULT_KEK_FILE_MAX + 1, &map_len, &flags);
    if (buf == NULL) {
        (void) close(fd);
        vault_err(err, errlen, "vault: cannot map memory for the KEK file");
        return VAULT_ERR_NOMEM;
    }

    len = 0;
    for ( ;; ) {
        n = read(fd, buf + len, VAULT_KEK_FILE_MAX + 1 - len);
        if (n == -1 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            break;
        }
        len += (size_t) n;
        if (len > VAULT_KEK_FILE_MAX) {
            break;
        }
    }

    saved = errno;
    (void) close(fd);

    if (n == -1) {
        vault_secure_free(buf, map_len);
        vault_err(err, errlen, "vault: KEK file \"%s\": %s", path,
                  strerror(saved));
        return VAULT_ERR_IO;
    }

    if (len > VAULT_KEK_FILE_MAX) {
        vault_secure_free(buf, map_len);
        vault_err(err, errlen, "vault: KEK file \"%s\" is larger than %d "
                  "bytes", path, VAULT_KEK_FILE_MAX);
        return VAULT_ERR_KEK_SYNTAX;
    }

    msg[0] = '\0';
    rc = vault_kek_parse(buf, len, vp, msg, sizeof(msg));
    vault_secure_free(buf, map_len);

    if (rc != VAULT_OK) {
        vault_err(err, errlen, "vault: KEK file \"%s\": %s", path, msg);
    }

    return rc;
}


int
vault_kek_parse(const char *text, size_t len, vault_t **vp, char *err,
    size_t errlen)
{
    int          rc;
    size_t       i, lineno, map_len;
    vault_t     *v;
    unsigned     flags;
    const char  *p, *end, *eol;

    if (text == NULL || vp == NULL) {
        vault_err(err, errlen, "no KEK text given");
        return VAULT_ERR_ARG;
    }

    v = vault_secure_alloc(sizeof(vault_t), &map_len, &flags);
    if (v == NULL) {
        vault_err(err, errlen, "cannot map memory for the KEKs");
        return VAULT_ERR_NOMEM;
    }

    v->map_len = map_len;
    v->flags = flags;

    p = text;
    end = text + len;

    for (lineno = 1; p < end; lineno++) {
        eol = memchr(p, '\n', (size_t) (end - p));
        if (eol == NULL) {
            eol = end;
        }

        rc = vault_parse_line(v, p, eol, lineno, err, errlen);
        if (rc != VAULT_OK) {
            vault_free(v);
            return rc;
        }

        p = eol + 1;
    }

    if (v->nkeks == 0) {
        vault_free(v);
        vault_err(err, errlen, "no key: expected lines of "
                  "\"<version> <64 hex digits>\"");
        return VAULT_ERR_KEK_NONE;
    }

    for (i = 1; i < v->nkeks; i++) {
        if (v->keks[i].version > v->keks[v->current].version) {
            v->current = i;
        }
    }

    *vp = v;
    return VAULT_OK;
}


/* one line without its '\n'; comments and blank lines are skipped */
static int
vault_parse_line(vault_t *v, const char *p, const char *end, size_t lineno,
    char *err, size_t errlen)
{
    int           hi, lo;
    size_t        i;
    uint64_t      version;
    vault_kek_t  *kek;

    while (p < end && (*p == ' ' || *p == '\t')) {
        p++;
    }

    while (end > p && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
    {
        end--;
    }

    if (p == end || *p == '#') {
        return VAULT_OK;
    }

    if (*p < '0' || *p > '9') {
        vault_err(err, errlen, "line %zu: expected \"<version> "
                  "<64 hex digits>\"", lineno);
        return VAULT_ERR_KEK_SYNTAX;
    }

    version = 0;
    while (p < end && *p >= '0' && *p <= '9') {
        version = version * 10 + (uint64_t) (*p - '0');
        if (version > UINT32_MAX) {
            vault_err(err, errlen, "line %zu: version is larger than %u",
                      lineno, (unsigned) UINT32_MAX);
            return VAULT_ERR_KEK_SYNTAX;
        }
        p++;
    }

    if (version == 0) {
        vault_err(err, errlen, "line %zu: version must be positive", lineno);
        return VAULT_ERR_KEK_SYNTAX;
    }

    if (p == end || (*p != ' ' && *p != '\t')) {
        vault_err(err, errlen, "line %zu: expected a blank and 64 hex digits "
                  "after the version", lineno);
        return VAULT_ERR_KEK_SYNTAX;
    }

    while (p < end && (*p == ' ' || *p == '\t')) {
        p++;
    }

    if ((size_t) (end - p) != 2 * VAULT_KEY_LEN) {
        vault_err(err, errlen, "line %zu: key of version %u must be exactly "
                  "%d hex digits", lineno, (unsigned) version,
                  2 * VAULT_KEY_LEN);
        return VAULT_ERR_KEK_SYNTAX;
    }

    if (vault_kek_find(v, (uint32_t) version) != NULL) {
        vault_err(err, errlen, "line %zu: version %u appears twice",
                  lineno, (unsigned) version);
        return VAULT_ERR_KEK_DUP;
    }

    if (v->nkeks == VAULT_KEK_MAX) {
        vault_err(err, errlen, "line %zu: more than %d versions", lineno,
                  VAULT_KEK_MAX);
        return VAULT_ERR_KEK_SYNTAX;
    }

    kek = &v->keks[v->nkeks];

    for (i = 0; i < VAULT_KEY_LEN; i++) {
        hi = OPENSSL_hexchar2int((unsigned char) p[2 * i]);
        lo = OPENSSL_hexchar2int((unsigned char) p[2 * i + 1]);

        if (hi < 0 || lo < 0) {
            OPENSSL_cleanse(kek->key, sizeof(kek->key));
            vault_err(err, errlen, "line %zu: key of version %u is not "
                      "hexadecimal", lineno, (unsigned) version);
            return VAULT_ERR_KEK_SYNTAX;
        }

        kek->key[i] = (unsigned char) (hi << 4 | lo);
    }

    kek->version = (uint32_t) version;
    v->nkeks++;

    return VAULT_OK;
}


void
vault_free(vault_t *v)
{
    if (v != NULL) {
        vault_secure_free(v, v->map_len);
    }
}


uint32_t
vault_kek_current(const vault_t *v)
{
    return (v == NULL || v->nkeks == 0) ? 0 : v->keks[v->current].version;
}


size_t
vault_kek_count(const vault_t *v)
{
    return v == NULL ? 0 : v->nkeks;
}


int
vault_kek_has(const vault_t *v, uint32_t version)
{
    return v != NULL && vault_kek_find(v, version) != NULL;
}


unsigned
vault_flags(const vault_t *v)
{
    return v == NULL ? 0 : v->flags;
}


static const vault_kek_t *
vault_kek_find(const vault_t *v, uint32_t version)
{
    size_t  i;

    for (i = 0; i < v->nkeks; i++) {
        if (v->keks[i].version == version) {
            return &v->keks[i];
        }
    }

    return NULL;
}


/* non-empty, at most VAULT_ID_MAX bytes */
static int
vault_check_id(const char *name, const char *id, size_t *len, char *err,
    size_t errlen)
{
    if (id == NULL || id[0] == '\0') {
        vault_err(err, errlen, "vault: %s is missing", name);
        return VAULT_ERR_ARG;
    }

    *len = strnlen(id, VAULT_ID_MAX + 1);
    if (*len > VAULT_ID_MAX) {
        vault_err(err, errlen, "vault: %s is longer than %d bytes", name,
                  VAULT_ID_MAX);
        return VAULT_ERR_ARG;
    }

    return VAULT_OK;
}


/*
 * AES-256-GCM, one shot.  Encrypting writes tag[]; decrypting checks it and
 * wipes out[] on mismatch.  Returns VAULT_OK, VAULT_ERR_AUTH or
 * VAULT_ERR_CRYPTO, and leaves the OpenSSL error queue empty.
 */
static int
vault_gcm(int enc, const unsigned char *key, const unsigned char *nonce,
    const vault_aad_t *aad, size_t naad, const unsigned char *in, size_t len,
    unsigned char *out, unsigned char *tag)
{
    int              n, rc;
    size_t           i;
    unsigned char    fin[VAULT_TAG_LEN];     /* GCM final writes nothing */
    EVP_CIPHER_CTX  *ctx;

    ctx = EVP_CIPHER_CTX_new();
    if (ctx == NULL) {
        ERR_clear_error();
        return VAULT_ERR_CRYPTO;
    }

    rc = VAULT_ERR_CRYPTO;

    if (EVP_CipherInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL, enc) != 1
        || EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, VAULT_NONCE_LEN,
                               NULL) != 1
        || EVP_CipherInit_ex(ctx, NULL, NULL, key, nonce, enc) != 1)
    {
        goto done;
    }

    for (i = 0; i < naad; i++) {
        if (aad[i].len > 0
            && EVP_CipherUpdate(ctx, NULL, &n, aad[i].data, (int) aad[i].len)
               != 1)
        {
            goto done;
        }
    }

    if (len > 0 && EVP_CipherUpdate(ctx, out, &n, in, (int) len) != 1) {
        goto done;
    }

    if (enc) {
        if (EVP_CipherFinal_ex(ctx, fin, &n) != 1
            || EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, VAULT_TAG_LEN,
                                   tag) != 1)
        {
            goto done;
        }

    } else {
        if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, VAULT_TAG_LEN,
                                tag) != 1)
        {
            goto done;
        }

        if (EVP_CipherFinal_ex(ctx, fin, &n) != 1) {
            OPENSSL_cleanse(out, len);
            rc = VAULT_ERR_AUTH;
            goto done;
        }
    }

    rc = VAULT_OK;

done:

    if (rc == VAULT_ERR_CRYPTO && !enc) {
        OPENSSL_cleanse(out, len);
    }

    EVP_CIPHER_CTX_free(ctx);
    ERR_clear_error();

    return rc;
}


int
vault_dek_new(const vault_t *v, const char *tenant, vault_dek_t **dekp,
    unsigned char *wrapped, char *err, size_t errlen)
{
    int           rc;
    size_t        tlen;
    vault_dek_t  *dek;

    if (v == NULL || dekp == NULL || wrapped == NULL) {
        vault_err(err, errlen, "vault: invalid argument");
        return VAULT_ERR_ARG;
    }

    rc = vault_check_id("tenant", tenant, &tlen, err, errlen);
    if (rc != VAULT_OK) {
        return rc;
    }

    dek = vault_dek_alloc();
    if (dek == NULL) {
        vault_err(err, errlen, "vault: cannot map memory for a data key");
        return VAULT_ERR_NOMEM;
    }

    if (RAND_bytes(dek->key, VAULT_KEY_LEN) != 1) {
        ERR_clear_error();
        vault_dek_free(dek);
        vault_err(err, errlen, "vault: RAND_bytes failed");
        return VAULT_ERR_CRYPTO;
    }

    rc = vault_wrap_with(v, tenant, dek, wrapped, err, errlen);
    if (rc != VAULT_OK) {
        vault_dek_free(dek);
        return rc;
    }

    *dekp = dek;
    return VAULT_OK;
}


/* wraps with the current KEK */
static int
vault_wrap_with(const vault_t *v, const char *tenant, const vault_dek_t *dek,
    unsigned char *out, char *err, size_t errlen)
{
    int                 rc;
    vault_aad_t         aad[2];
    const vault_kek_t  *kek;
    unsigned char       blob[VAULT_WRAPPED_LEN];

    if (v->nkeks == 0) {
        vault_err(err, errlen, "vault: no KEK loaded");
        return VAULT_ERR_KEK_NONE;
    }

    kek = &v->keks[v->current];

    blob[0] = VAULT_FORMAT;
    vault_put_be32(blob + 1, kek->version);

    if (RAND_bytes(blob + VAULT_HEADER_LEN, VAULT_NONCE_LEN) != 1) {
        ERR_clear_error();
        vault_err(err, errlen, "vault: RAND_bytes failed");
        return VAULT_ERR_CRYPTO;
    }

    aad[0].data = VAULT_DEK_LABEL;
    aad[0].len = sizeof(VAULT_DEK_LABEL);
    aad[1].data = tenant;
    aad[1].len = strlen(tenant);

    rc = vault_gcm(1, kek->key, blob + VAULT_HEADER_LEN, aad, 2, dek->key,
                   VAULT_KEY_LEN,
                   blob + VAULT_HEADER_LEN + VAULT_NONCE_LEN,
                   blob + VAULT_WRAPPED_LEN - VAULT_TAG_LEN);
    if (rc != VAULT_OK) {
        vault_err(err, errlen, "vault: cannot wrap a data key");
        return rc;
    }

    /* via a local copy so that out may alias the caller's input */
    memcpy(out, blob, VAULT_WRAPPED_LEN);

    return VAULT_OK;
}


int
vault_wrapped_version(const unsigned char *wrapped, size_t len,
    uint32_t *version)
{
    uint32_t  n;

    if (wrapped == NULL || len != VAULT_WRAPPED_LEN
        || wrapped[0] != VAULT_FORMAT)
    {
        return VAULT_ERR_FORMAT;
    }

    n = vault_get_be32(wrapped + 1);
    if (n == 0) {
        return VAULT_ERR_FORMAT;
    }

    if (version != NULL) {
        *version = n;
    }

    return VAULT_OK;
}


int
vault_dek_unwrap(const vault_t *v, const char *tenant,
    const unsigned char *wrapped, size_t len, vault_dek_t **dekp, char *err,
    size_t errlen)
{
    int                 rc;
    size_t              tlen;
    uint32_t            version;
    vault_aad_t         aad[2];
    vault_dek_t        *dek;
    const vault_kek_t  *kek;

    if (v == NULL || dekp == NULL || wrapped == NULL) {
        vault_err(err, errlen, "vault: invalid argument");
        return VAULT_ERR_ARG;
    }

    rc = vault_check_id("tenant", tenant, &tlen, err, errlen);
    if (rc != VAULT_OK) {
        return rc;
    }

    if (vault_wrapped_version(wrapped, len, &version) != VAULT_OK) {
        vault_err(err, errlen, "vault: wrapped data key is malformed "
                  "(%zu bytes, expected %d with format %d)", len,
                  VAULT_WRAPPED_LEN, VAULT_FORMAT);
        return VAULT_ERR_FORMAT;
    }

    kek = vault_kek_find(v, version);
    if (kek == NULL) {
        vault_err(err, errlen, "vault: data key of tenant \"%s\" is wrapped "
                  "with KEK version %u, which is not loaded (current "
                  "version %u)", tenant, (unsigned) version,
                  (unsigned) vault_kek_current(v));
        return VAULT_ERR_KEK_VERSION;
    }

    dek = vault_dek_alloc();
    if (dek == NULL) {
        vault_err(err, errlen, "vault: cannot map memory for a data key");
        return VAULT_ERR_NOMEM;
    }

    aad[0].data = VAULT_DEK_LABEL;
    aad[0].len = sizeof(VAULT_DEK_LABEL);
    aad[1].data = tenant;
    aad[1].len = tlen;

    /* GCM_SET_TAG takes a non-const pointer; it only reads it */
    rc = vault_gcm(0, kek->key, wrapped + VAULT_HEADER_LEN, aad, 2,
                   wrapped + VAULT_HEADER_LEN + VAULT_NONCE_LEN,
                   VAULT_KEY_LEN, dek->key,
                   (unsigned char *) wrapped + VAULT_WRAPPED_LEN
                   - VAULT_TAG_LEN);
    if (rc != VAULT_OK) {
        vault_dek_free(dek);
        vault_err(err, errlen, "vault: data key of tenant \"%s\" does not "
                  "authenticate with KEK version %u", tenant,
                  (unsigned) version);
        return rc;
    }

    *dekp = dek;
    return VAULT_OK;
}


int
vault_rewrap(const vault_t *v, const char *tenant,
    const unsigned char *wrapped, size_t len, unsigned char *out, char *err,
    size_t errlen)
{
    int           rc;
    vault_dek_t  *dek;

    if (out == NULL) {
        vault_err(err, errlen, "vault: invalid argument");
        return VAULT_ERR_ARG;
    }

    rc = vault_dek_unwrap(v, tenant, wrapped, len, &dek, err, errlen);
    if (rc != VAULT_OK) {
        return rc;
    }

    rc = vault_wrap_with(v, tenant, dek, out, err, errlen);
    vault_dek_free(dek);

    return rc;
}


void
vault_dek_free(vault_dek_t *dek)
{
    if (dek != NULL) {
        vault_secure_free(dek, dek->map_len);
    }
}


unsigned
vault_dek_flags(const vault_dek_t *dek)
{
    return dek == NULL ? 0 : dek->flags;
}


int
vault_seal(const vault_dek_t *dek, uint32_t generation, const char *tenant,
    const char *integration, const char *purpose,
    const unsigned char *plaintext, size_t len, unsigned char *out,
    size_t outsize, size_t *outlen, char *err, size_t errlen)
{
    int            rc;
    vault_aad_t    aad[VAULT_SEAL_NAAD];
    unsigned char  lens[12];

    if (dek == NULL || out == NULL || outlen == NULL
        || (plaintext == NULL && len > 0))
    {
        vault_err(err, errlen, "vault: invalid argument");
        return VAULT_ERR_ARG;
    }

    if (len > VAULT_SEAL_MAX) {
        vault_err(err, errlen, "vault: plaintext is longer than %d bytes",
                  VAULT_SEAL_MAX);
        return VAULT_ERR_ARG;
    }

    if (outsize < VAULT_SEALED_LEN(len)) {
        vault_err(err, errlen, "vault: sealing %zu bytes needs %zu, "
                  "buffer has %zu", len, VAULT_SEALED_LEN(len), outsize);
        return VAULT_ERR_SPACE;
    }

    rc = vault_seal_aad(aad, lens, out, tenant, integration, purpose, err,
                        errlen);
    if (rc != VAULT_OK) {
        return rc;
    }

    out[0] = VAULT_FORMAT;
    vault_put_be32(out + 1, generation);

    if (RAND_bytes(out + VAULT_HEADER_LEN, VAULT_NONCE_LEN) != 1) {
        ERR_clear_error();
        vault_err(err, errlen, "vault: RAND_bytes failed");
        return VAULT_ERR_CRYPTO;
    }

    rc = vault_gcm(1, dek->key, out + VAULT_HEADER_LEN, aad, VAULT_SEAL_NAAD,
                   plaintext, len, out + VAULT_HEADER_LEN + VAULT_NONCE_LEN,
                   out + VAULT_HEADER_LEN + VAULT_NONCE_LEN + len);
    if (rc != VAULT_OK) {
        vault_err(err, errlen, "vault: cannot seal");
        return rc;
    }

    *outlen = VAULT_SEALED_LEN(len);
    return VAULT_OK;
}


int
vault_open(const vault_dek_t *dek, const char *tenant,
    const char *integration, const char *purpose, const unsigned char *blob,
    size_t len, unsigned char *out, size_t outsize, size_t *outlen,
    char *err, size_t errlen)
{
    int            rc;
    size_t         ptlen;
    vault_aad_t    aad[VAULT_SEAL_NAAD];
    unsigned char  lens[12];

    if (dek == NULL || blob == NULL || outlen == NULL
        || (out == NULL && outsize > 0))
    {
        vault_err(err, errlen, "vault: invalid argument");
        return VAULT_ERR_ARG;
    }

    rc = vault_seal_aad(aad, lens, blob, tenant, integration, purpose, err,
                        errlen);
    if (rc != VAULT_OK) {
        return rc;
    }

    if (vault_sealed_generation(blob, len, NULL) != VAULT_OK) {
        vault_err(err, errlen, "vault: sealed blob is malformed (%zu bytes, "
                  "format byte must be %d)", len, VAULT_FORMAT);
        return VAULT_ERR_FORMAT;
    }

    ptlen = len - VAULT_OVERHEAD;

    if (outsize < ptlen) {
        vault_err(err, errlen, "vault: opening needs %zu bytes, buffer has "
                  "%zu", ptlen, outsize);
        return VAULT_ERR_SPACE;
    }

    /* GCM_SET_TAG takes a non-const pointer; it only reads it */
    rc = vault_gcm(0, dek->key, blob + VAULT_HEADER_LEN, aad,
                   VAULT_SEAL_NAAD, blob + VAULT_HEADER_LEN + VAULT_NONCE_LEN,
                   ptlen, out,
                   (unsigned char *) blob + len - VAULT_TAG_LEN);
    if (rc != VAULT_OK) {
        vault_err(err, errlen, "vault: sealed data of tenant \"%s\", "
                  "integration \"%s\", purpose \"%s\" does not "
                  "authenticate", tenant, integration, purpose);
        return rc;
    }

    *outlen = ptlen;
    return VAULT_OK;
}


/*
 * "hubgate-seal\0" || header || be32 len || tenant || be32 len
 * || integration || be32 len || purpose.  header[] must hold the 5 header
 * bytes by the time the AAD is used; lens[] holds 12 bytes.
 */
static int
vault_seal_aad(vault_aad_t *aad, unsigned char *lens,
    const unsigned char *header, const char *tenant, const char *integration,
    const char *purpose, char *err, size_t errlen)
{
    int     rc;
    size_t  i, len;

    static const char  *names[3] = { "tenant", "integration", "purpose" };
    const char         *ids[3];

    ids[0] = tenant;
    ids[1] = integration;
    ids[2] = purpose;

    aad[0].data = VAULT_SEAL_LABEL;
    aad[0].len = sizeof(VAULT_SEAL_LABEL);
    aad[1].data = header;
    aad[1].len = VAULT_HEADER_LEN;

    for (i = 0; i < 3; i++) {
        rc = vault_check_id(names[i], ids[i], &len, err, errlen);
        if (rc != VAULT_OK) {
            return rc;
        }

        vault_put_be32(lens + 4 * i, (uint32_t) len);

        aad[2 + 2 * i].data = lens + 4 * i;
        aad[2 + 2 * i].len = 4;
        aad[3 + 2 * i].data = ids[i];
        aad[3 + 2 * i].len = len;
    }

    return VAULT_OK;
}


int
vault_sealed_generation(const unsigned char *blob, size_t len,
    uint32_t *generation)
{
    if (blob == NULL || len < VAULT_OVERHEAD
        || len > VAULT_SEALED_LEN(VAULT_SEAL_MAX) || blob[0] != VAULT_FORMAT)
    {
        return VAULT_ERR_FORMAT;
    }

    if (generation != NULL) {
        *generation = vault_get_be32(blob + 1);
    }

    return VAULT_OK;
}


const char *
vault_strerror(int rc)
{
    if (rc > 0 || rc <= VAULT_ERR_MIN) {
        return "unknown error";
    }

    return vault_errors[-rc];
}


static void
vault_put_be32(unsigned char *p, uint32_t n)
{
    p[0] = (unsigned char) (n >> 24);
    p[1] = (unsigned char) (n >> 16);
    p[2] = (unsigned char) (n >> 8);
    p[3] = (unsigned char) n;
}


static uint32_t
vault_get_be32(const unsigned char *p)
{
    return (uint32_t) p[0] << 24 | (uint32_t) p[1] << 16
           | (uint32_t) p[2] << 8 | (uint32_t) p[3];
}
