
/*
 * hubgate: the identity signature between the edge and hubgated.
 * See hg_identity.h.
 */

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "hg_identity.h"


#define HG_IDENTITY_PREFIX       "hubgate-identity-v1\n"
#define HG_IDENTITY_MAC_LEN      32
#define HG_IDENTITY_MAX_DIGITS   19         /* LLONG_MAX */
#define HG_IDENTITY_MAX_FILE     65536


static int hg_identity_mac(const unsigned char *key, size_t key_len,
    long long t, const hg_identity_t *id, unsigned char *mac);
static int hg_identity_mac_fields(EVP_MAC_CTX *ctx, long long t,
    const hg_identity_t *id);
static int hg_identity_mac_field(EVP_MAC_CTX *ctx, const char *data,
    size_t len);
static int hg_identity_parse(const char *header, size_t len, long long *t,
    unsigned char *mac);
static int hg_identity_hex_value(int c);
static int hg_identity_is_stale(long long t, time_t now, long max_age);
static int hg_identity_read_file(const char *path, unsigned char *buf,
    size_t size, size_t *len, char *err, size_t errlen);
static int hg_identity_read(int fd, unsigned char *buf, size_t size,
    size_t *len);
static void hg_identity_err(char *err, size_t errlen, const char *fmt, ...);


static const char  *const hg_identity_err_names[] = {
    "ok",
    "missing",
    "format",
    "stale",
    "signature",
    "internal"
};


int
hg_identity_sign(const unsigned char *key, size_t key_len, time_t t,
    const hg_identity_t *id, char *out, size_t out_size)
{
    int            n;
    size_t         i;
    char          *p;
    unsigned char  mac[HG_IDENTITY_MAC_LEN];

    static const char  hex[] = "0123456789abcdef";

    if (out == NULL || t < 0
        || hg_identity_mac(key, key_len, (long long) t, id, mac) != 0)
    {
        return -1;
    }

    n = snprintf(out, out_size, "t=%lld,v1=", (long long) t);

    if (n < 0 || (size_t) n + HG_IDENTITY_HEX_LEN >= out_size) {
        OPENSSL_cleanse(mac, sizeof(mac));
        return -1;
    }

    p = out + n;

    for (i = 0; i < HG_IDENTITY_MAC_LEN; i++) {
        *p++ = hex[mac[i] >> 4];
        *p++ = hex[mac[i] & 0xf];
    }

    *p = '\0';

    OPENSSL_cleanse(mac, sizeof(mac));

    return n + HG_IDENTITY_HEX_LEN;
}


int
hg_identity_verify(const unsigned char *key, size_t key_len,
    const char *header, size_t header_len, const hg_identity_t *id,
    time_t now, long max_age)
{
    int            rc;
    long long      t;
    unsigned char  got[HG_IDENTITY_MAC_LEN], want[HG_IDENTITY_MAC_LEN];

    if (header == NULL) {
        return HG_IDENTITY_ERR_MISSING;
    }

    if (hg_identity_parse(header, header_len, &t, got) != 0) {
        return HG_IDENTITY_ERR_FORMAT;
    }

    if (hg_identity_mac(key, key_len, t, id, want) != 0) {
        return HG_IDENTITY_ERR_INTERNAL;
    }

    /* the MAC first: an unsigned header learns nothing about our clock */
    if (CRYPTO_memcmp(got, want, HG_IDENTITY_MAC_LEN) != 0) {
        rc = HG_IDENTITY_ERR_SIGNATURE;

    } else if (hg_identity_is_stale(t, now, max_age)) {
        rc = HG_IDENTITY_ERR_STALE;

    } else {
        rc = HG_IDENTITY_OK;
    }

    OPENSSL_cleanse(want, sizeof(want));

    return rc;
}


const char *
hg_identity_strerror(int err)
{
    if (err < HG_IDENTITY_OK || err > HG_IDENTITY_ERR_INTERNAL) {
        return "internal";
    }

    return hg_identity_err_names[err];
}


static int
hg_identity_mac(const unsigned char *key, size_t key_len, long long t,
    const hg_identity_t *id, unsigned char *mac)
{
    int           rc;
    size_t        len;
    EVP_MAC      *hmac;
    OSSL_PARAM    params[2];
    EVP_MAC_CTX  *ctx;
    char          digest[] = "SHA256";

    if (key == NULL || key_len < HG_IDENTITY_MIN_SECRET || id == NULL) {
        return -1;
    }

    hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    ctx = hmac ? EVP_MAC_CTX_new(hmac) : NULL;

    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
                                                 digest, 0);
    params[1] = OSSL_PARAM_construct_end();

    rc = -1;

    if (ctx != NULL
        && EVP_MAC_init(ctx, key, key_len, params) == 1
        && hg_identity_mac_fields(ctx, t, id) == 0
        && EVP_MAC_final(ctx, mac, &len, HG_IDENTITY_MAC_LEN) == 1
        && len == HG_IDENTITY_MAC_LEN)
    {
        rc = 0;
    }

    EVP_MAC_CTX_free(ctx);
    EVP_MAC_free(hmac);

    if (rc != 0) {
        ERR_clear_error();
    }

    return rc;
}


static int
hg_identity_mac_fields(EVP_MAC_CTX *ctx, long long t,
    const hg_identity_t *id)
{
    int   n;
    char  buf[24];

    n = snprintf(buf, sizeof(buf), "%lld", t);

    if (n < 0 || (size_t) n >= sizeof(buf)
        || EVP_MAC_update(ctx, (const unsigned char *) HG_IDENTITY_PREFIX,
                          sizeof(HG_IDENTITY_PREFIX) - 1)
           != 1
        || hg_identity_mac_field(ctx, buf, (size_t) n) != 0
        || hg_identity_mac_field(ctx, id->method.data, id->method.len) != 0
        || hg_identity_mac_field(ctx, id->uri.data, id->uri.len) != 0
        || hg_identity_mac_field(ctx, id->tenant.data, id->tenant.len) != 0
        || hg_identity_mac_field(ctx, id->subject.data, id->subject.len)
           != 0
        || hg_identity_mac_field(ctx, id->roles.data, id->roles.len) != 0
        || hg_identity_mac_field(ctx, id->webhook.data, id->webhook.len)
           != 0)
    {
        return -1;
    }

    return 0;
}


/* "<decimal length>:<bytes>\n" */

static int
hg_identity_mac_field(EVP_MAC_CTX *ctx, const char *data, size_t len)
{
    int   n;
    char  buf[32];

    if (data == NULL && len != 0) {
        return -1;
    }

    n = snprintf(buf, sizeof(buf), "%zu:", len);

    if (n < 0 || (size_t) n >= sizeof(buf)
        || EVP_MAC_update(ctx, (const unsigned char *) buf, (size_t) n) != 1
        || (len && EVP_MAC_update(ctx, (const unsigned char *) data, len)
                   != 1)
        || EVP_MAC_update(ctx, (const unsigned char *) "\n", 1) != 1)
    {
        return -1;
    }

    return 0;
}


/* exactly "t=<digits>,v1=<64 lowercase hex>"; no leading zeros in t */

static int
hg_identity_parse(const char *header, size_t len, long long *t,
    unsigned char *mac)
{
    int        hi, lo;
    size_t     i, k;
    long long  v;

    if (len < 3 || header[0] != 't' || header[1] != '='
        || (header[2] == '0' && len > 3 && header[3] != ','))
    {
        return -1;
    }

    v = 0;

    for (i = 2; i < len && header[i] >= '0' && header[i] <= '9'; i++) {
        if (i - 2 == HG_IDENTITY_MAX_DIGITS
            || v > (LLONG_MAX - (header[i] - '0')) / 10)
        {
            return -1;
        }

        v = v * 10 + (header[i] - '0');
    }

    if (i == 2
        || len - i != sizeof(",v1=") - 1 + HG_IDENTITY_HEX_LEN
        || memcmp(header + i, ",v1=", sizeof(",v1=") - 1) != 0)
    {
        return -1;
    }

    i += sizeof(",v1=") - 1;

    for (k = 0; k < HG_IDENTITY_MAC_LEN; k++, i += 2) {
        hi = hg_identity_hex_value((unsigned char) header[i]);
        lo = hg_identity_hex_value((unsigned char) header[i + 1]);

        if (hi < 0 || lo < 0) {
            return -1;
        }

        mac[k] = (unsigned char) (hi << 4 | lo);
    }

    *t = v;

    return 0;
}


static int
hg_identity_hex_value(int c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }

    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }

    return -1;
}


/* |now - t| > max_age, without overflow whatever the values */

static int
hg_identity_is_stale(long long t, time_t now, long max_age)
{
    long long           n;
    unsigned long long  diff;

    if (max_age < 0) {
        return 1;
    }

    n = (long long) now;

    diff = (t > n) ? (unsigned long long) t - (unsigned long long) n
                   : (unsigned long long) n - (unsigned long long) t;

    return diff > (unsigned long long) max_age;
}


int
hg_identity_load_secret(const char *path, unsigned char **key,
    size_t *key_len, char *err, size_t errlen)
{
    int             rc;
    size_t          len;
    unsigned char  *buf;

    *key = NULL;
    *key_len = 0;
    len = 0;

    buf = malloc(HG_IDENTITY_MAX_FILE + 1);
    if (buf == NULL) {
        hg_identity_err(err, errlen, "out of memory");
        return -1;
    }

    rc = hg_identity_read_file(path, buf, HG_IDENTITY_MAX_FILE + 1, &len,
                               err, errlen);

    /* trailing white space: the newline an editor adds, and the like */
    while (rc == 0 && len && buf[len - 1] != '\0'
           && strchr(" \t\r\n\v\f", buf[len - 1]) != NULL)
    {
        len--;
    }

    if (rc == 0 && len < HG_IDENTITY_MIN_SECRET) {
        hg_identity_err(err, errlen, "secret of %zu bytes, at least %d "
                        "required", len, HG_IDENTITY_MIN_SECRET);
        rc = -1;
    }

    if (rc == 0) {
        *key = malloc(len);

        if (*key == NULL) {
            hg_identity_err(err, errlen, "out of memory");
            rc = -1;

        } else {
            memcpy(*key, buf, len);
            *key_len = len;
        }
    }

    OPENSSL_cleanse(buf, HG_IDENTITY_MAX_FILE + 1);
    free(buf);

    return rc;
}


/* a regular file of at most size - 1 bytes */

static int
hg_identity_read_file(const char *path, unsigned char *buf, size_t size,
    size_t *len, char *err, size_t errlen)
{
    int          fd, rc, e;
    struct stat  st;

    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd == -1) {
        hg_identity_err(err, errlen, "cannot open: %s", strerror(errno));
        return -1;
    }

    if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
        hg_identity_err(err, errlen, "not a regular file");
        close(fd);
        return -1;
    }

    rc = hg_identity_read(fd, buf, size, len);
    e = errno;
    close(fd);

    if (rc != 0) {
        hg_identity_err(err, errlen, "cannot read: %s", strerror(e));
        return -1;
    }

    if (*len >= size) {
        hg_identity_err(err, errlen, "larger than %zu bytes", size - 1);
        return -1;
    }

    return 0;
}


static int
hg_identity_read(int fd, unsigned char *buf, size_t size, size_t *len)
{
    ssize_t  n;

    *len = 0;

    while (*len < size) {
        n = read(fd, buf + *len, size - *len);

        if (n == -1 && errno == EINTR) {
            continue;
        }

        if (n < 0) {
            return -1;
        }

        if (n == 0) {
            break;
        }

        *len += (size_t) n;
    }

    return 0;
}


static void
hg_identity_err(char *err, size_t errlen, const char *fmt, ...)
{
    va_list  args;

    if (err == NULL || errlen == 0) {
        return;
    }

    va_start(args, fmt);
    vsnprintf(err, errlen, fmt, args);
    va_end(args);
}
