
/*
 * hg-jwt: signed tokens and JWKs for hubgate's tests and benchmarks.
 *
 * Deliberately independent of the verifying core (hg_jwt.c): the inputs of
 * a test must not come from the code under test.  It signs whatever it is
 * told to, including what a verifier must refuse (alg "none", DER ECDSA
 * signatures, HMAC keyed with a public key's PEM, raw headers with
 * duplicate members), so attack tests can be written.
 *
 *   hg-jwt sign --alg <alg> [--key <file>] [--kid <kid>] [--header <json>]
 *               [--payload <json>] [--der]
 *               [--count <n> [--payload-template <text>]]
 *   hg-jwt jwk  --key <pem> [--kid <kid>] [--alg <alg>] [--use <use>]
 *   hg-jwt jwk  --secret <file> [--kid <kid>] [--alg <alg>] [--use <use>]
 *   hg-jwt jwks <jwk-json>...
 *
 * Exit status: 0 done, 1 failed (bad key, OpenSSL error), 2 usage error.
 */


#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "hg_identity.h"


#define HGT_OK            0
#define HGT_ERROR         1
#define HGT_USAGE         2

#define HGT_MAX_FILE      (1024 * 1024)
#define HGT_MAX_SIG       2048
#define HGT_MAX_COUNT     10000000UL


typedef enum {
    HGT_SIGN_EMPTY = 0,
    HGT_SIGN_HMAC,
    HGT_SIGN_RSA,
    HGT_SIGN_PSS,
    HGT_SIGN_ECDSA,
    HGT_SIGN_EDDSA
} hgt_method_e;


typedef struct {
    const char       *name;
    hgt_method_e      method;
    const char       *digest;           /* NULL: no digest (EdDSA, none) */
} hgt_alg_t;


typedef struct {
    char             *data;
    size_t            len;
    size_t            cap;
} hgt_buf_t;


typedef struct {
    const char       *alg;
    const char       *key;
    const char       *kid;
    const char       *header;
    const char       *payload;
    const char       *template;
    unsigned long     count;
    int               der;
} hgt_sign_opts_t;


typedef struct {
    const hgt_alg_t  *alg;
    const EVP_MD     *md;
    EVP_PKEY         *pkey;             /* owned; RSA, PSS, ECDSA, EdDSA */
    unsigned char    *secret;           /* owned; HMAC */
    size_t            secret_len;
    int               der;
} hgt_signer_t;


static void hgt_usage(void);
static void hgt_error(const char *fmt, ...);
static int hgt_buf_add(hgt_buf_t *b, const void *data, size_t len);
static int hgt_buf_add_str(hgt_buf_t *b, const char *s);
static int hgt_buf_add_b64url(hgt_buf_t *b, const unsigned char *data,
    size_t len);
static int hgt_read_file(const char *path, unsigned char **data,
    size_t *len);
static EVP_PKEY *hgt_load_pkey(const char *path);
static const char *hgt_opt_value(int argc, char **argv, int *i,
    const char *name);
static int hgt_cmd_sign(int argc, char **argv);
static int hgt_signer_init(hgt_signer_t *s, const hgt_sign_opts_t *o);
static void hgt_signer_free(hgt_signer_t *s);
static int hgt_sign_one(hgt_signer_t *s, const char *header,
    const char *payload, hgt_buf_t *out);
static int hgt_sign_pkey(hgt_signer_t *s, const unsigned char *in,
    size_t len, unsigned char *sig, size_t *sig_len);
static int hgt_ecdsa_der_to_raw(EVP_PKEY *pkey, unsigned char *sig,
    size_t *sig_len);
static char *hgt_default_header(const char *alg, const char *kid);
static int hgt_expand_template(const char *tpl, unsigned long i,
    time_t now, hgt_buf_t *out);
static int hgt_cmd_jwk(int argc, char **argv);
static json_t *hgt_jwk_from_pkey(EVP_PKEY *pkey);
static int hgt_jwk_set_bn(json_t *jwk, const char *member, EVP_PKEY *pkey,
    const char *param, int pad);
static int hgt_cmd_jwks(int argc, char **argv);
static int hgt_cmd_ident(int argc, char **argv);
static int hgt_print_json(json_t *json);


static const hgt_alg_t  hgt_algs[] = {
    { "none",  HGT_SIGN_EMPTY, NULL },
    { "HS256", HGT_SIGN_HMAC,  "SHA256" },
    { "HS384", HGT_SIGN_HMAC,  "SHA384" },
    { "HS512", HGT_SIGN_HMAC,  "SHA512" },
    { "RS256", HGT_SIGN_RSA,   "SHA256" },
    { "RS384", HGT_SIGN_RSA,   "SHA384" },
    { "RS512", HGT_SIGN_RSA,   "SHA512" },
    { "PS256", HGT_SIGN_PSS,   "SHA256" },
    { "PS384", HGT_SIGN_PSS,   "SHA384" },
    { "PS512", HGT_SIGN_PSS,   "SHA512" },
    { "ES256", HGT_SIGN_ECDSA, "SHA256" },
    { "ES384", HGT_SIGN_ECDSA, "SHA384" },
    { "ES512", HGT_SIGN_ECDSA, "SHA512" },
    { "ES256K", HGT_SIGN_ECDSA, "SHA256" },     /* RFC 8812, secp256k1 */
    { "EdDSA", HGT_SIGN_EDDSA, NULL },
    { NULL, HGT_SIGN_EMPTY, NULL }
};


/* any other alg name: HMAC-SHA256 with the --key bytes, or no signature */
static const hgt_alg_t  hgt_alg_other_keyed = {
    NULL, HGT_SIGN_HMAC, "SHA256"
};

static const hgt_alg_t  hgt_alg_other_empty = {
    NULL, HGT_SIGN_EMPTY, NULL
};


static const char  hgt_b64url[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";


int
main(int argc, char **argv)
{
    if (argc < 2) {
        hgt_usage();
        return HGT_USAGE;
    }

    if (strcmp(argv[1], "sign") == 0) {
        return hgt_cmd_sign(argc - 2, argv + 2);
    }

    if (strcmp(argv[1], "jwk") == 0) {
        return hgt_cmd_jwk(argc - 2, argv + 2);
    }

    if (strcmp(argv[1], "ident") == 0) {
        return hgt_cmd_ident(argc - 1, argv + 1);
    }

    if (strcmp(argv[1], "jwks") == 0) {
        return hgt_cmd_jwks(argc - 2, argv + 2);
    }

    if (strcmp(argv[1], "help") == 0 || strcmp(argv[1], "--help") == 0
        || strcmp(argv[1], "-h") == 0)
    {
        hgt_usage();
        return HGT_OK;
    }

    hgt_error("unknown command \"%s\"", argv[1]);
    hgt_usage();

    return HGT_USAGE;
}


static void
hgt_usage(void)
{
    fprintf(stderr,
        "usage:\n"
        "  hg-jwt sign --alg <alg> [--key <file>] [--kid <kid>]"
        " [--header <json>]\n"
        "              [--payload <json>] [--der]\n"
        "              [--count <n> [--payload-template <text>]]\n"
        "  hg-jwt jwk  --key <pem> [--kid <kid>] [--alg <alg>]"
        " [--use <use>]\n"
        "  hg-jwt jwk  --secret <file> [--kid <kid>] [--alg <alg>]"
        " [--use <use>]\n"
        "  hg-jwt jwks <jwk-json>...\n"
        "\n"
        "sign:\n"
        "  --alg      HS256|HS384|HS512|RS256|RS384|RS512|PS256|PS384|PS512|\n"
        "             ES256|ES384|ES512|ES256K|EdDSA|none; any other name"
        " signs\n"
        "             with HMAC-SHA256 over the --key bytes (or not at all\n"
        "             without --key)\n"
        "  --key      PEM private key; for HS* (and other names) the file's\n"
        "             raw bytes are the secret, whatever they are\n"
        "  --header   raw header text, used verbatim (default\n"
        "             {\"alg\":<alg>,\"typ\":\"JWT\"[,\"kid\":<kid>]})\n"
        "  --payload  raw payload text, used verbatim (default\n"
        "             {\"tid\":\"t1\",\"sub\":\"u1\",\"exp\":<now+3600>})\n"
        "  --der      ECDSA signature in DER instead of raw R||S\n"
        "  --count    print n tokens, one a line; in --payload-template\n"
        "             {i} is 0..n-1, {exp} now+86400, {now} the time\n");
}


static void
hgt_error(const char *fmt, ...)
{
    char           buf[256];
    va_list        args;
    unsigned long  e;

    va_start(args, fmt);
    vsnprintf(buf, sizeof(buf), fmt, args);
    va_end(args);

    e = ERR_get_error();

    if (e == 0) {
        fprintf(stderr, "hg-jwt: %s\n", buf);
        return;
    }

    fprintf(stderr, "hg-jwt: %s (%s)\n", buf, ERR_error_string(e, NULL));
    ERR_clear_error();
}


static int
hgt_buf_add(hgt_buf_t *b, const void *data, size_t len)
{
    char    *p;
    size_t   cap;

    if (b->len + len + 1 > b->cap) {
        cap = b->cap ? b->cap : 256;

        while (cap < b->len + len + 1) {
            cap *= 2;
        }

        p = realloc(b->data, cap);
        if (p == NULL) {
            hgt_error("out of memory");
            return HGT_ERROR;
        }

        b->data = p;
        b->cap = cap;
    }

    memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = '\0';

    return HGT_OK;
}


static int
hgt_buf_add_str(hgt_buf_t *b, const char *s)
{
    return hgt_buf_add(b, s, strlen(s));
}


static int
hgt_buf_add_b64url(hgt_buf_t *b, const unsigned char *data, size_t len)
{
    char      out[4];
    size_t    i, n;
    uint32_t  v;

    for (i = 0; i < len; i += 3) {
        n = len - i < 3 ? len - i : 3;

        v = (uint32_t) data[i] << 16;
        if (n > 1) {
            v |= (uint32_t) data[i + 1] << 8;
        }
        if (n > 2) {
            v |= data[i + 2];
        }

        out[0] = hgt_b64url[(v >> 18) & 0x3f];
        out[1] = hgt_b64url[(v >> 12) & 0x3f];
        out[2] = hgt_b64url[(v >> 6) & 0x3f];
        out[3] = hgt_b64url[v & 0x3f];

        /* no padding: n input bytes make n + 1 characters */
        if (hgt_buf_add(b, out, n + 1) != HGT_OK) {
            return HGT_ERROR;
        }
    }

    if (b->data == NULL) {
        return hgt_buf_add(b, "", 0);
    }

    return HGT_OK;
}


static int
hgt_read_file(const char *path, unsigned char **data, size_t *len)
{
    FILE           *f;
    size_t          n;
    unsigned char  *p;

    f = fopen(path, "rb");
    if (f == NULL) {
        hgt_error("cannot open \"%s\": %s", path, strerror(errno));
        return HGT_ERROR;
    }

    p = malloc(HGT_MAX_FILE + 1);
    if (p == NULL) {
        fclose(f);
        hgt_error("out of memory");
        return HGT_ERROR;
    }

    n = fread(p, 1, HGT_MAX_FILE + 1, f);

    if (ferror(f) || n > HGT_MAX_FILE) {
        hgt_error("cannot read \"%s\": %s", path,
                  ferror(f) ? strerror(errno) : "larger than 1 MB");
        fclose(f);
        free(p);
        return HGT_ERROR;
    }

    fclose(f);

    *data = p;
    *len = n;

    return HGT_OK;
}


static EVP_PKEY *
hgt_load_pkey(const char *path)
{
    BIO       *bio;
    EVP_PKEY  *pkey;

    bio = BIO_new_file(path, "r");
    if (bio == NULL) {
        hgt_error("cannot open \"%s\"", path);
        return NULL;
    }

    pkey = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);

    if (pkey == NULL) {
        /* not a private key: perhaps a public one (jwk accepts both) */
        ERR_clear_error();

        if (BIO_reset(bio) == 0) {
            pkey = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
        }
    }

    BIO_free(bio);

    if (pkey == NULL) {
        hgt_error("no PEM key in \"%s\"", path);
    }

    return pkey;
}


/*
 * "--name value" and "--name=value"; returns the value and advances *i,
 * NULL when argv[*i] is another option; exits on a missing value.
 */

static const char *
hgt_opt_value(int argc, char **argv, int *i, const char *name)
{
    size_t  n;

    n = strlen(name);

    if (strncmp(argv[*i], name, n) != 0) {
        return NULL;
    }

    if (argv[*i][n] == '=') {
        return argv[*i] + n + 1;
    }

    if (argv[*i][n] != '\0') {
        return NULL;
    }

    if (*i + 1 >= argc) {
        hgt_error("%s needs a value", name);
        exit(HGT_USAGE);
    }

    (*i)++;

    return argv[*i];
}


static int
hgt_cmd_sign(int argc, char **argv)
{
    int               i, rc;
    char             *end, *header;
    time_t            now;
    unsigned long     n;
    hgt_buf_t         out, payload;
    const char       *v;
    hgt_signer_t      signer;
    hgt_sign_opts_t   o;

    memset(&o, 0, sizeof(o));

    for (i = 0; i < argc; i++) {

        if ((v = hgt_opt_value(argc, argv, &i, "--alg"))) {
            o.alg = v;

        } else if ((v = hgt_opt_value(argc, argv, &i, "--key"))) {
            o.key = v;

        } else if ((v = hgt_opt_value(argc, argv, &i, "--kid"))) {
            o.kid = v;

        } else if ((v = hgt_opt_value(argc, argv, &i, "--header"))) {
            o.header = v;

        } else if ((v = hgt_opt_value(argc, argv, &i, "--payload"))) {
            o.payload = v;

        } else if ((v = hgt_opt_value(argc, argv, &i,
                                      "--payload-template")))
        {
            o.template = v;

        } else if ((v = hgt_opt_value(argc, argv, &i, "--count"))) {
            errno = 0;
            o.count = strtoul(v, &end, 10);

            if (errno || *end != '\0' || *v == '-' || o.count == 0
                || o.count > HGT_MAX_COUNT)
            {
                hgt_error("--count must be a number from 1 to %lu",
                          HGT_MAX_COUNT);
                return HGT_USAGE;
            }

        } else if (strcmp(argv[i], "--der") == 0) {
            o.der = 1;

        } else {
            hgt_error("sign: unknown argument \"%s\"", argv[i]);
            hgt_usage();
            return HGT_USAGE;
        }
    }

    if (o.alg == NULL) {
        hgt_error("sign: --alg is required");
        return HGT_USAGE;
    }

    if (o.payload && o.template) {
        hgt_error("sign: --payload and --payload-template exclude each other");
        return HGT_USAGE;
    }

    if (o.template && o.count == 0) {
        hgt_error("sign: --payload-template needs --count");
        return HGT_USAGE;
    }

    if (o.count == 0) {
        o.count = 1;
    }

    rc = hgt_signer_init(&signer, &o);
    if (rc != HGT_OK) {
        return rc;
    }

    if (o.header) {
        header = strdup(o.header);

    } else {
        header = hgt_default_header(o.alg, o.kid);
    }

    if (header == NULL) {
        hgt_error("out of memory");
        hgt_signer_free(&signer);
        return HGT_ERROR;
    }

    memset(&out, 0, sizeof(out));
    memset(&payload, 0, sizeof(payload));

    now = time(NULL);
    rc = HGT_OK;

    for (n = 0; n < o.count; n++) {
        payload.len = 0;

        if (o.payload) {
            rc = hgt_buf_add_str(&payload, o.payload);

        } else if (o.template) {
            rc = hgt_expand_template(o.template, n, now, &payload);

        } else {
            rc = hgt_expand_template(
                     "{\"tid\":\"t1\",\"sub\":\"u1\",\"exp\":{exp1h}}",
                     n, now, &payload);
        }

        if (rc != HGT_OK) {
            break;
        }

        out.len = 0;

        rc = hgt_sign_one(&signer, header, payload.data, &out);
        if (rc != HGT_OK) {
            break;
        }

        if (fwrite(out.data, 1, out.len, stdout) != out.len
            || fputc('\n', stdout) == EOF)
        {
            hgt_error("write failed: %s", strerror(errno));
            rc = HGT_ERROR;
            break;
        }
    }

    if (fflush(stdout) != 0 && rc == HGT_OK) {
        hgt_error("write failed: %s", strerror(errno));
        rc = HGT_ERROR;
    }

    free(out.data);
    free(payload.data);
    free(header);
    hgt_signer_free(&signer);

    return rc;
}


static int
hgt_signer_init(hgt_signer_t *s, const hgt_sign_opts_t *o)
{
    const hgt_alg_t  *a;

    memset(s, 0, sizeof(hgt_signer_t));

    s->der = o->der;

    for (a = hgt_algs; a->name; a++) {
        if (strcmp(a->name, o->alg) == 0) {
            break;
        }
    }

    if (a->name == NULL) {
        a = o->key ? &hgt_alg_other_keyed : &hgt_alg_other_empty;
    }

    s->alg = a;

    if (a->digest) {
        s->md = EVP_get_digestbyname(a->digest);
        if (s->md == NULL) {
            hgt_error("digest %s not available", a->digest);
            return HGT_ERROR;
        }
    }

    switch (a->method) {

    case HGT_SIGN_EMPTY:
        return HGT_OK;

    case HGT_SIGN_HMAC:
        if (o->key == NULL) {
            hgt_error("sign: --alg %s needs --key <secret file>", o->alg);
            return HGT_USAGE;
        }

        return hgt_read_file(o->key, &s->secret, &s->secret_len);

    default:
        if (o->key == NULL) {
            hgt_error("sign: --alg %s needs --key <private key PEM>",
                      o->alg);
            return HGT_USAGE;
        }

        s->pkey = hgt_load_pkey(o->key);
        if (s->pkey == NULL) {
            return HGT_ERROR;
        }

        if (!EVP_PKEY_is_a(s->pkey, "RSA")
            && !EVP_PKEY_is_a(s->pkey, "RSA-PSS")
            && !EVP_PKEY_is_a(s->pkey, "EC")
            && !EVP_PKEY_is_a(s->pkey, "ED25519")
            && !EVP_PKEY_is_a(s->pkey, "ED448"))
        {
            hgt_error("\"%s\": unsupported key type", o->key);
            return HGT_ERROR;
        }

        return HGT_OK;
    }
}


static void
hgt_signer_free(hgt_signer_t *s)
{
    EVP_PKEY_free(s->pkey);

    if (s->secret) {
        OPENSSL_cleanse(s->secret, s->secret_len);
        free(s->secret);
    }

    memset(s, 0, sizeof(hgt_signer_t));
}


static int
hgt_sign_one(hgt_signer_t *s, const char *header, const char *payload,
    hgt_buf_t *out)
{
    size_t          input_len, sig_len;
    unsigned int    mac_len;
    unsigned char   sig[HGT_MAX_SIG];

    if (hgt_buf_add_b64url(out, (const unsigned char *) header,
                           strlen(header))
        != HGT_OK
        || hgt_buf_add(out, ".", 1) != HGT_OK
        || hgt_buf_add_b64url(out, (const unsigned char *) payload,
                              strlen(payload))
           != HGT_OK)
    {
        return HGT_ERROR;
    }

    input_len = out->len;
    sig_len = 0;

    switch (s->alg->method) {

    case HGT_SIGN_EMPTY:
        break;

    case HGT_SIGN_HMAC:
        mac_len = 0;

        if (HMAC(s->md, s->secret, (int) s->secret_len,
                 (const unsigned char *) out->data, input_len, sig, &mac_len)
            == NULL)
        {
            hgt_error("HMAC failed");
            return HGT_ERROR;
        }

        sig_len = mac_len;
        break;

    default:
        if (hgt_sign_pkey(s, (const unsigned char *) out->data, input_len,
                          sig, &sig_len)
            != HGT_OK)
        {
            return HGT_ERROR;
        }

        break;
    }

    if (hgt_buf_add(out, ".", 1) != HGT_OK) {
        return HGT_ERROR;
    }

    return hgt_buf_add_b64url(out, sig, sig_len);
}


static int
hgt_sign_pkey(hgt_signer_t *s, const unsigned char *in, size_t len,
    unsigned char *sig, size_t *sig_len)
{
    int            rc;
    size_t         n;
    EVP_MD_CTX    *ctx;
    const EVP_MD  *md;
    EVP_PKEY_CTX  *pctx;

    ctx = EVP_MD_CTX_new();
    if (ctx == NULL) {
        hgt_error("out of memory");
        return HGT_ERROR;
    }

    rc = HGT_ERROR;
    pctx = NULL;

    /* EdDSA hashes internally: no digest may be named */
    md = (s->alg->method == HGT_SIGN_EDDSA
          || EVP_PKEY_is_a(s->pkey, "ED25519")
          || EVP_PKEY_is_a(s->pkey, "ED448"))
         ? NULL : s->md;

    if (EVP_DigestSignInit(ctx, &pctx, md, NULL, s->pkey) != 1) {
        hgt_error("%s: cannot sign with this key", s->alg->name);
        goto done;
    }

    if (s->alg->method == HGT_SIGN_PSS
        && (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1
            || EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST)
               != 1))
    {
        hgt_error("%s: cannot set PSS padding", s->alg->name);
        goto done;
    }

    n = 0;

    if (EVP_DigestSign(ctx, NULL, &n, in, len) != 1 || n > HGT_MAX_SIG) {
        hgt_error("%s: signature size", s->alg->name);
        goto done;
    }

    if (EVP_DigestSign(ctx, sig, &n, in, len) != 1) {
        hgt_error("%s: signing failed", s->alg->name);
        goto done;
    }

    *sig_len = n;

    if (EVP_PKEY_is_a(s->pkey, "EC") && !s->der) {
        rc = hgt_ecdsa_der_to_raw(s->pkey, sig, sig_len);
        goto done;
    }

    rc = HGT_OK;

done:

    EVP_MD_CTX_free(ctx);

    return rc;
}


/* JWS (RFC 7518 3.4) wants R||S, each as long as the curve's order */

static int
hgt_ecdsa_der_to_raw(EVP_PKEY *pkey, unsigned char *sig, size_t *sig_len)
{
    int                   n;
    const BIGNUM         *r, *s;
    ECDSA_SIG            *es;
    const unsigned char  *p;

    p = sig;

    es = d2i_ECDSA_SIG(NULL, &p, (long) *sig_len);
    if (es == NULL) {
        hgt_error("cannot decode the ECDSA signature");
        return HGT_ERROR;
    }

    n = (EVP_PKEY_get_bits(pkey) + 7) / 8;

    ECDSA_SIG_get0(es, &r, &s);

    if (n <= 0 || 2 * (size_t) n > HGT_MAX_SIG
        || BN_bn2binpad(r, sig, n) != n
        || BN_bn2binpad(s, sig + n, n) != n)
    {
        ECDSA_SIG_free(es);
        hgt_error("cannot encode the ECDSA signature");
        return HGT_ERROR;
    }

    ECDSA_SIG_free(es);

    *sig_len = 2 * (size_t) n;

    return HGT_OK;
}


static char *
hgt_default_header(const char *alg, const char *kid)
{
    char    *text;
    json_t  *h;

    h = json_object();
    if (h == NULL) {
        return NULL;
    }

    if (json_object_set_new(h, "alg", json_string(alg)) != 0
        || json_object_set_new(h, "typ", json_string("JWT")) != 0
        || (kid && json_object_set_new(h, "kid", json_string(kid)) != 0))
    {
        json_decref(h);
        return NULL;
    }

    text = json_dumps(h, JSON_COMPACT | JSON_PRESERVE_ORDER);

    json_decref(h);

    return text;
}


/* {i}: index, {exp}: now + 1 day, {exp1h}: now + 1 hour, {now}: now */

static int
hgt_expand_template(const char *tpl, unsigned long i, time_t now,
    hgt_buf_t *out)
{
    int          n;
    char         num[32];
    const char  *p;

    for (p = tpl; *p; ) {

        if (strncmp(p, "{i}", 3) == 0) {
            n = snprintf(num, sizeof(num), "%lu", i);
            p += 3;

        } else if (strncmp(p, "{exp}", 5) == 0) {
            n = snprintf(num, sizeof(num), "%lld", (long long) now + 86400);
            p += 5;

        } else if (strncmp(p, "{exp1h}", 7) == 0) {
            n = snprintf(num, sizeof(num), "%lld", (long long) now + 3600);
            p += 7;

        } else if (strncmp(p, "{now}", 5) == 0) {
            n = snprintf(num, sizeof(num), "%lld", (long long) now);
            p += 5;

        } else {
            if (hgt_buf_add(out, p, 1) != HGT_OK) {
                return HGT_ERROR;
            }

            p++;
            continue;
        }

        if (hgt_buf_add(out, num, (size_t) n) != HGT_OK) {
            return HGT_ERROR;
        }
    }

    if (out->data == NULL) {
        return hgt_buf_add(out, "", 0);
    }

    return HGT_OK;
}


static int
hgt_cmd_jwk(int argc, char **argv)
{
    int             i, rc;
    size_t          len;
    json_t         *jwk;
    hgt_buf_t       k;
    EVP_PKEY       *pkey;
    const char     *v, *key, *secret, *kid, *alg, *use;
    unsigned char  *data;

    key = NULL;
    secret = NULL;
    kid = NULL;
    alg = NULL;
    use = NULL;

    for (i = 0; i < argc; i++) {

        if ((v = hgt_opt_value(argc, argv, &i, "--key"))) {
            key = v;

        } else if ((v = hgt_opt_value(argc, argv, &i, "--secret"))) {
            secret = v;

        } else if ((v = hgt_opt_value(argc, argv, &i, "--kid"))) {
            kid = v;

        } else if ((v = hgt_opt_value(argc, argv, &i, "--alg"))) {
            alg = v;

        } else if ((v = hgt_opt_value(argc, argv, &i, "--use"))) {
            use = v;

        } else {
            hgt_error("jwk: unknown argument \"%s\"", argv[i]);
            hgt_usage();
            return HGT_USAGE;
        }
    }

    if ((key == NULL) == (secret == NULL)) {
        hgt_error("jwk: give exactly one of --key <pem> or --secret <file>");
        return HGT_USAGE;
    }

    if (key) {
        pkey = hgt_load_pkey(key);
        if (pkey == NULL) {
            return HGT_ERROR;
        }

        jwk = hgt_jwk_from_pkey(pkey);

        EVP_PKEY_free(pkey);

        if (jwk == NULL) {
            return HGT_ERROR;
        }

    } else {
        if (hgt_read_file(secret, &data, &len) != HGT_OK) {
            return HGT_ERROR;
        }

        memset(&k, 0, sizeof(k));

        rc = hgt_buf_add_b64url(&k, data, len);

        OPENSSL_cleanse(data, len);
        free(data);

        if (rc != HGT_OK) {
            return HGT_ERROR;
        }

        jwk = json_object();

        if (jwk == NULL
            || json_object_set_new(jwk, "kty", json_string("oct")) != 0
            || json_object_set_new(jwk, "k", json_string(k.data)) != 0)
        {
            free(k.data);
            json_decref(jwk);
            hgt_error("out of memory");
            return HGT_ERROR;
        }

        free(k.data);
    }

    if ((kid && json_object_set_new(jwk, "kid", json_string(kid)) != 0)
        || (alg && json_object_set_new(jwk, "alg", json_string(alg)) != 0)
        || (use && json_object_set_new(jwk, "use", json_string(use)) != 0))
    {
        json_decref(jwk);
        hgt_error("out of memory");
        return HGT_ERROR;
    }

    rc = hgt_print_json(jwk);

    json_decref(jwk);

    return rc;
}


static json_t *
hgt_jwk_from_pkey(EVP_PKEY *pkey)
{
    int             fsize;
    char            group[64];
    size_t          len;
    json_t         *jwk;
    hgt_buf_t       b;
    const char     *crv;
    unsigned char   raw[128];

    jwk = json_object();
    if (jwk == NULL) {
        hgt_error("out of memory");
        return NULL;
    }

    if (EVP_PKEY_is_a(pkey, "RSA") || EVP_PKEY_is_a(pkey, "RSA-PSS")) {

        if (json_object_set_new(jwk, "kty", json_string("RSA")) != 0
            || hgt_jwk_set_bn(jwk, "n", pkey, OSSL_PKEY_PARAM_RSA_N, 0)
               != HGT_OK
            || hgt_jwk_set_bn(jwk, "e", pkey, OSSL_PKEY_PARAM_RSA_E, 0)
               != HGT_OK)
        {
            goto failed;
        }

        return jwk;
    }

    if (EVP_PKEY_is_a(pkey, "EC")) {

        if (EVP_PKEY_get_group_name(pkey, group, sizeof(group), &len) != 1) {
            hgt_error("EC key without a named curve");
            goto failed;
        }

        /* JOSE names (RFC 7518 6.2.1.1); others as OpenSSL calls them */
        if (strcmp(group, "prime256v1") == 0) {
            crv = "P-256";

        } else if (strcmp(group, "secp384r1") == 0) {
            crv = "P-384";

        } else if (strcmp(group, "secp521r1") == 0) {
            crv = "P-521";

        } else {
            crv = group;
        }

        fsize = (EVP_PKEY_get_bits(pkey) + 7) / 8;

        if (json_object_set_new(jwk, "kty", json_string("EC")) != 0
            || json_object_set_new(jwk, "crv", json_string(crv)) != 0
            || hgt_jwk_set_bn(jwk, "x", pkey, OSSL_PKEY_PARAM_EC_PUB_X, fsize)
               != HGT_OK
            || hgt_jwk_set_bn(jwk, "y", pkey, OSSL_PKEY_PARAM_EC_PUB_Y, fsize)
               != HGT_OK)
        {
            goto failed;
        }

        return jwk;
    }

    if (EVP_PKEY_is_a(pkey, "ED25519") || EVP_PKEY_is_a(pkey, "ED448")) {
        crv = EVP_PKEY_is_a(pkey, "ED25519") ? "Ed25519" : "Ed448";
        len = sizeof(raw);

        if (EVP_PKEY_get_raw_public_key(pkey, raw, &len) != 1) {
            hgt_error("cannot get the %s public key", crv);
            goto failed;
        }

        memset(&b, 0, sizeof(b));

        if (hgt_buf_add_b64url(&b, raw, len) != HGT_OK
            || json_object_set_new(jwk, "kty", json_string("OKP")) != 0
            || json_object_set_new(jwk, "crv", json_string(crv)) != 0
            || json_object_set_new(jwk, "x", json_string(b.data)) != 0)
        {
            free(b.data);
            goto failed;
        }

        free(b.data);

        return jwk;
    }

    hgt_error("unsupported key type %s", EVP_PKEY_get0_type_name(pkey));

failed:

    json_decref(jwk);

    return NULL;
}


/* a big number parameter as base64url, left-padded to pad bytes if pad */

static int
hgt_jwk_set_bn(json_t *jwk, const char *member, EVP_PKEY *pkey,
    const char *param, int pad)
{
    int             n, rc;
    BIGNUM         *bn;
    hgt_buf_t       b;
    unsigned char   bin[1024];

    bn = NULL;

    if (EVP_PKEY_get_bn_param(pkey, param, &bn) != 1) {
        hgt_error("cannot get key parameter %s", param);
        return HGT_ERROR;
    }

    if (pad) {
        n = BN_num_bytes(bn) <= pad ? BN_bn2binpad(bn, bin, pad) : -1;

    } else {
        n = BN_num_bytes(bn) <= (int) sizeof(bin) ? BN_bn2bin(bn, bin) : -1;
    }

    BN_free(bn);

    if (n < 0) {
        hgt_error("key parameter %s too large", param);
        return HGT_ERROR;
    }

    memset(&b, 0, sizeof(b));

    rc = hgt_buf_add_b64url(&b, bin, (size_t) n);

    if (rc == HGT_OK && json_object_set_new(jwk, member, json_string(b.data))
                        != 0)
    {
        hgt_error("out of memory");
        rc = HGT_ERROR;
    }

    free(b.data);

    return rc;
}


static int
hgt_cmd_jwks(int argc, char **argv)
{
    int            i, rc;
    json_t        *jwks, *keys, *jwk;
    json_error_t   err;

    if (argc == 0) {
        hgt_error("jwks: give one or more JWKs as JSON arguments");
        return HGT_USAGE;
    }

    jwks = json_object();
    keys = json_array();

    if (jwks == NULL || keys == NULL
        || json_object_set_new(jwks, "keys", keys) != 0)
    {
        hgt_error("out of memory");
        return HGT_ERROR;
    }

    for (i = 0; i < argc; i++) {
        jwk = json_loads(argv[i], 0, &err);

        if (jwk == NULL || !json_is_object(jwk)) {
            hgt_error("jwks: argument %d is not a JSON object: %s", i + 1,
                      jwk ? "wrong type" : err.text);
            json_decref(jwk);
            json_decref(jwks);
            return HGT_USAGE;
        }

        if (json_array_append_new(keys, jwk) != 0) {
            hgt_error("out of memory");
            json_decref(jwks);
            return HGT_ERROR;
        }
    }

    rc = hgt_print_json(jwks);

    json_decref(jwks);

    return rc;
}


static int
hgt_print_json(json_t *json)
{
    char  *text;

    text = json_dumps(json, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (text == NULL) {
        hgt_error("out of memory");
        return HGT_ERROR;
    }

    if (printf("%s\n", text) < 0 || fflush(stdout) != 0) {
        free(text);
        hgt_error("write failed: %s", strerror(errno));
        return HGT_ERROR;
    }

    free(text);

    return HGT_OK;
}


/*
 * ident: the X-Hubgate-Auth value the edge would send, for tests that talk
 * to hubgated's socket directly (forged, stale and replayed signatures).
 *   hg-jwt ident --secret FILE --method M --uri U [--tenant T]
 *                [--subject S] [--roles R] [--webhook W] [--time UNIX]
 */
static int
hgt_cmd_ident(int argc, char **argv)
{
    int             i, n;
    long            t;
    char            out[HG_IDENTITY_HEADER_MAX + 1], err[256];
    size_t          keylen;
    const char     *secret, *v;
    unsigned char  *key;
    hg_identity_t   id;

    memset(&id, 0, sizeof(id));
    secret = NULL;
    t = (long) time(NULL);

    for (i = 1; i + 1 < argc; i += 2) {
        v = argv[i + 1];

#define HGT_ID(opt, f)                                                        \
        if (strcmp(argv[i], opt) == 0) {                                      \
            id.f.data = v;                                                    \
            id.f.len = strlen(v);                                             \
            continue;                                                         \
        }

        HGT_ID("--method", method)
        HGT_ID("--uri", uri)
        HGT_ID("--tenant", tenant)
        HGT_ID("--subject", subject)
        HGT_ID("--roles", roles)
        HGT_ID("--webhook", webhook)

#undef HGT_ID

        if (strcmp(argv[i], "--secret") == 0) {
            secret = v;
            continue;
        }

        if (strcmp(argv[i], "--time") == 0) {
            t = atol(v);
            continue;
        }

        fprintf(stderr, "hg-jwt ident: unknown option %s\n", argv[i]);
        return 2;
    }

    if (i != argc || secret == NULL || id.method.data == NULL
        || id.uri.data == NULL)
    {
        fprintf(stderr, "usage: hg-jwt ident --secret FILE --method M --uri U"
                " [--tenant T] [--subject S] [--roles R] [--webhook W]"
                " [--time UNIX]\n");
        return 2;
    }

    if (hg_identity_load_secret(secret, &key, &keylen, err, sizeof(err))
        != 0)
    {
        fprintf(stderr, "hg-jwt ident: %s\n", err);
        return 1;
    }

    n = hg_identity_sign(key, keylen, (time_t) t, &id, out, sizeof(out));
    free(key);

    if (n < 0) {
        fprintf(stderr, "hg-jwt ident: cannot sign\n");
        return 1;
    }

    printf("%s\n", out);
    return 0;
}
