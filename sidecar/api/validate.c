
/*
 * hubgated: validation of API request bodies.  Contract in validate.h.
 */

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "api/validate.h"


#define VALIDATE_FREQ_MIN       5
#define VALIDATE_FREQ_MAX       1440
#define VALIDATE_MAPPINGS_MAX   64
#define VALIDATE_MAP_KEY_MAX    64
#define VALIDATE_MAP_VALUE_MAX  256
#define VALIDATE_NAME_MAX       128
#define VALIDATE_QUOTE_MAX      41      /* a quoted name, NUL included */
#define VALIDATE_WHSEC_MAX      1024
#define VALIDATE_OVERLAP_MAX    2592000 /* 30 days */
#define VALIDATE_OVERLAP_DEF    86400

#define VALIDATE_SETTINGS_LIST                                               \
    "autoGenerateInvoices, invoiceSeries, syncFrequencyMinutes, "           \
    "autoMarkAsPaid, autoCreateCustomer, autoCreateProduct, "               \
    "defaultVatRate and fieldMappings"

#define VALIDATE_MEMBERS_LIST                                                \
    "provider, display_name, auth, api_key and settings"

#define VALIDATE_VAT_LIST                                                    \
    "\"23\", \"8\", \"5\", \"0\" (Poland), \"21\", \"11\" (Romania), "      \
    "\"zw\" (exempt) or \"np\" (outside the scope of VAT)"


/* returns a new normalized value, or NULL after adding its errors */
typedef json_t *(*validate_check_pt)(const json_t *v, const char *prefix,
    const char *name, validate_errs_t *errs);


typedef struct {
    const char         *name;
    const char         *def;        /* the default, as JSON text */
    validate_check_pt   check;
} validate_key_t;


static void validate_add(validate_errs_t *errs, const char *prefix,
    const char *name, const char *code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 5, 6)))
#endif
    ;
static void validate_copy(char *dst, size_t size, const char *src);
static size_t validate_utf8_next(const unsigned char *p, size_t len,
    uint32_t *cp);
static int validate_is_alnum(int c);
static const char *validate_type(const json_t *v);
static int validate_length(const json_t *v, const char *prefix,
    const char *name, size_t max, validate_errs_t *errs);
static const validate_key_t *validate_key_find(const char *name);
static json_t *validate_settings_in(const json_t *body, const char *prefix,
    validate_errs_t *errs);
static json_t *validate_bool(const json_t *v, const char *prefix,
    const char *name, validate_errs_t *errs);
static json_t *validate_frequency(const json_t *v, const char *prefix,
    const char *name, validate_errs_t *errs);
static json_t *validate_series(const json_t *v, const char *prefix,
    const char *name, validate_errs_t *errs);
static json_t *validate_vat(const json_t *v, const char *prefix,
    const char *name, validate_errs_t *errs);
static json_t *validate_mappings(const json_t *v, const char *prefix,
    const char *name, validate_errs_t *errs);
static void validate_mapping(const char *key, const json_t *v,
    const char *prefix, json_t *out, validate_errs_t *errs);
static const provider_t *validate_provider(const json_t *body,
    validate_errs_t *errs);
static void validate_display_name(const json_t *body,
    validate_create_t *c, validate_errs_t *errs);
static void validate_auth(const json_t *body, validate_create_t *c,
    validate_errs_t *errs);
static void validate_api_key(const json_t *body, validate_create_t *c,
    validate_errs_t *errs);


static const validate_key_t  validate_keys[] = {
    { "autoGenerateInvoices",  "false",        validate_bool },
    { "invoiceSeries",         "\"default\"",  validate_series },
    { "syncFrequencyMinutes",  "60",           validate_frequency },
    { "autoMarkAsPaid",        "false",        validate_bool },
    { "autoCreateCustomer",    "true",         validate_bool },
    { "autoCreateProduct",     "true",         validate_bool },
    { "defaultVatRate",        "\"23\"",       validate_vat },
    { "fieldMappings",         "{}",           validate_mappings },
};


/* Poland: 23, 8, 5, 0; Romania since 2025-08-01: 21, 11 */
static const char  *validate_vat_rates[] = {
    "23", "8", "5", "0", "21", "11", "zw", "np"
};


static const char  *validate_members[] = {
    "provider", "display_name", "auth", "api_key", "settings"
};


json_t *
validate_settings_defaults(void)
{
    size_t   i;
    json_t  *out;

    out = json_object();
    if (out == NULL) {
        return NULL;
    }

    for (i = 0; i < sizeof(validate_keys) / sizeof(validate_keys[0]); i++) {
        /* set_new fails, and steals nothing, when json_loads failed */
        if (json_object_set_new(out, validate_keys[i].name,
                                json_loads(validate_keys[i].def,
                                           JSON_DECODE_ANY, NULL))
            != 0)
        {
            json_decref(out);
            return NULL;
        }
    }

    return out;
}


json_t *
validate_settings(const json_t *body, const char *prefix,
    validate_errs_t *errs)
{
    errs->n = 0;

    return validate_settings_in(body, prefix != NULL ? prefix : "", errs);
}


json_t *
validate_settings_effective(const json_t *stored)
{
    json_t                *out, *v, *norm;
    const char            *key;
    validate_errs_t        scratch;
    const validate_key_t  *k;

    out = validate_settings_defaults();
    if (out == NULL || !json_is_object(stored)) {
        return out;
    }

    json_object_foreach((json_t *) stored, key, v) {
        k = validate_key_find(key);
        if (k == NULL) {
            continue;
        }

        scratch.n = 0;
        norm = k->check(v, "", k->name, &scratch);
        if (norm == NULL) {
            if (scratch.n == 0) {
                json_decref(out);
                return NULL;
            }
            continue;               /* no longer valid: the default stays */
        }

        if (json_object_set_new(out, k->name, norm) != 0) {
            json_decref(out);
            return NULL;
        }
    }

    return out;
}


int
validate_create(const json_t *body, validate_create_t *out,
    validate_errs_t *errs)
{
    char               quoted[VALIDATE_QUOTE_MAX];
    size_t             i;
    json_t            *v;
    const char        *key;
    validate_create_t  c;

    errs->n = 0;

    if (!json_is_object(body)) {
        validate_add(errs, "", "", "type",
                     "the request body must be a JSON object (got %s)",
                     validate_type(body));
        return -1;
    }

    memset(&c, 0, sizeof(c));

    c.provider = validate_provider(body, errs);
    validate_display_name(body, &c, errs);
    validate_auth(body, &c, errs);
    validate_api_key(body, &c, errs);

    v = json_object_get(body, "settings");
    if (v == NULL) {
        c.settings = json_object();
        if (c.settings == NULL) {
            validate_add(errs, "", "settings", "internal", "out of memory");
        }

    } else if (!json_is_object(v)) {
        validate_add(errs, "", "settings", "type",
                     "settings must be an object (got %s)", validate_type(v));

    } else {
        c.settings = validate_settings_in(v, "settings.", errs);
    }

    json_object_foreach((json_t *) body, key, v) {
        for (i = 0; i < sizeof(validate_members) / sizeof(char *); i++) {
            if (strcmp(key, validate_members[i]) == 0) {
                break;
            }
        }

        if (i == sizeof(validate_members) / sizeof(char *)) {
            validate_copy(quoted, sizeof(quoted), key);
            validate_add(errs, "", key, "unknown_field",
                         "unknown member \"%s\"; the members are "
                         VALIDATE_MEMBERS_LIST, quoted);
        }
    }

    if (errs->n > 0) {
        json_decref(c.settings);
        return -1;
    }

    *out = c;

    return 0;
}


int
validate_webhook_secret(const json_t *body, validate_whsec_t *out,
    validate_errs_t *errs)
{
    char              quoted[VALIDATE_QUOTE_MAX];
    size_t            i, len;
    json_t           *v;
    json_int_t        n;
    const char       *key, *s;
    validate_whsec_t  w;

    errs->n = 0;

    if (!json_is_object(body)) {
        validate_add(errs, "", "", "type",
                     "the request body must be a JSON object (got %s)",
                     validate_type(body));
        return -1;
    }

    memset(&w, 0, sizeof(w));
    w.overlap_seconds = VALIDATE_OVERLAP_DEF;

    v = json_object_get(body, "secret");

    if (v != NULL
        && validate_length(v, "", "secret", VALIDATE_WHSEC_MAX, errs) == 0)
    {
        s = json_string_value(v);
        len = json_string_length(v);

        for (i = 0; i < len; i++) {
            if (s[i] < 0x20 || s[i] > 0x7e) {
                validate_add(errs, "", "secret", "pattern",
                             "secret must be printable ASCII (byte %zu is"
                             " not)", i + 1);
                break;
            }
        }

        if (i == len) {
            w.secret = s;
            w.secret_len = len;
        }
    }

    v = json_object_get(body, "overlap_seconds");

    if (v != NULL) {
        if (!json_is_integer(v)) {
            validate_add(errs, "", "overlap_seconds", "type",
                         "overlap_seconds must be an integer (got %s)",
                         validate_type(v));

        } else {
            n = json_integer_value(v);

            if (n < 0 || n > VALIDATE_OVERLAP_MAX) {
                validate_add(errs, "", "overlap_seconds", "range",
                             "overlap_seconds must be from 0 to %d",
                             VALIDATE_OVERLAP_MAX);
            } else {
                w.overlap_seconds = (long) n;
            }
        }
    }

    json_object_foreach((json_t *) body, key, v) {
        if (strcmp(key, "secret") != 0 && strcmp(key, "overlap_seconds") != 0)
        {
            validate_copy(quoted, sizeof(quoted), key);
            validate_add(errs, "", key, "unknown_field",
                         "unknown member \"%s\"; the members are secret and"
                         " overlap_seconds", quoted);
        }
    }

    if (errs->n > 0) {
        return -1;
    }

    *out = w;
    return 0;
}


json_t *
validate_errors_json(const validate_errs_t *errs)
{
    size_t                 i, n;
    json_t                *details;
    const validate_err_t  *e;

    details = json_array();
    if (details == NULL) {
        return NULL;
    }

    n = errs->n < VALIDATE_ERRS_MAX ? errs->n : VALIDATE_ERRS_MAX;

    for (i = 0; i < n; i++) {
        e = &errs->errs[i];

        /* append_new fails, and steals nothing, when json_pack failed */
        if (json_array_append_new(details,
                                  json_pack("{s:s, s:s, s:s}",
                                            "field", e->field,
                                            "code", e->code,
                                            "message", e->message))
            != 0)
        {
            json_decref(details);
            return NULL;
        }
    }

    return json_pack("{s:{s:s, s:s, s:o}}", "error",
                     "code", "validation_failed",
                     "message", n > 0 ? errs->errs[0].message
                                      : "the request is not valid",
                     "details", details);
}


/*
 * Counts the error, keeps it if there is room.  The field is prefix and
 * name ("settings." and "" give "settings"); field and message are cut at
 * a character boundary, so that they stay valid UTF-8.
 */
static void
validate_add(validate_errs_t *errs, const char *prefix, const char *name,
    const char *code, const char *fmt, ...)
{
    char             buf[512];
    size_t           len;
    va_list          ap;
    validate_err_t  *e;

    if (errs->n++ >= VALIDATE_ERRS_MAX) {
        return;
    }

    e = &errs->errs[errs->n - 1];

    (void) snprintf(buf, sizeof(buf), "%s%s", prefix, name);
    len = strlen(buf);
    if (name[0] == '\0' && len > 0 && buf[len - 1] == '.') {
        buf[len - 1] = '\0';
    }

    validate_copy(e->field, sizeof(e->field), buf);
    validate_copy(e->code, sizeof(e->code), code);

    va_start(ap, fmt);
    (void) vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);

    validate_copy(e->message, sizeof(e->message), buf);
}


/*
 * Copies whole UTF-8 characters of src while they fit in dst[size];
 * a byte that is not UTF-8 becomes '?'.
 */
static void
validate_copy(char *dst, size_t size, const char *src)
{
    size_t    i, j, n, len;
    uint32_t  cp;

    len = strlen(src);

    for (i = 0, j = 0; i < len; i += n) {
        n = validate_utf8_next((const unsigned char *) src + i, len - i, &cp);

        if (n == 0) {
            if (j + 1 >= size) {
                break;
            }
            dst[j++] = '?';
            n = 1;
            continue;
        }

        if (j + n >= size) {
            break;
        }

        memcpy(dst + j, src + i, n);
        j += n;
    }

    dst[j] = '\0';
}


/*
 * The length of the UTF-8 sequence at p (1..4) with its code point in
 * *cp, or 0 if it is not well formed (truncated, overlong, a surrogate,
 * above U+10FFFF).
 */
static size_t
validate_utf8_next(const unsigned char *p, size_t len, uint32_t *cp)
{
    size_t    i, n;
    uint32_t  c, min;

    c = p[0];

    if (c < 0x80) {
        *cp = c;
        return 1;
    }

    if (c >= 0xc2 && c <= 0xdf) {
        n = 2;
        c &= 0x1f;
        min = 0x80;

    } else if (c >= 0xe0 && c <= 0xef) {
        n = 3;
        c &= 0x0f;
        min = 0x800;

    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4;
        c &= 0x07;
        min = 0x10000;

    } else {
        return 0;
    }

    if (len < n) {
        return 0;
    }

    for (i = 1; i < n; i++) {
        if ((p[i] & 0xc0) != 0x80) {
            return 0;
        }
        c = c << 6 | (p[i] & 0x3f);
    }

    if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff)) {
        return 0;
    }

    *cp = c;

    return n;
}


static int
validate_is_alnum(int c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')
           || (c >= '0' && c <= '9');
}


/* what the client sent instead, for the messages */
static const char *
validate_type(const json_t *v)
{
    switch (v != NULL ? json_typeof(v) : JSON_NULL) {
    case JSON_OBJECT:
        return "an object";
    case JSON_ARRAY:
        return "an array";
    case JSON_STRING:
        return "a string";
    case JSON_INTEGER:
        return "an integer";
    case JSON_REAL:
        return "a number with a fraction or an exponent";
    case JSON_TRUE:
        return "true";
    case JSON_FALSE:
        return "false";
    default:
        return "null";
    }
}


/* a string of 1..max bytes; 0, or -1 after adding the error */
static int
validate_length(const json_t *v, const char *prefix, const char *name,
    size_t max, validate_errs_t *errs)
{
    size_t  len;

    if (!json_is_string(v)) {
        validate_add(errs, prefix, name, "type",
                     "%s must be a string (got %s)", name, validate_type(v));
        return -1;
    }

    len = json_string_length(v);

    if (len == 0) {
        validate_add(errs, prefix, name, "too_short",
                     "%s must not be empty", name);
        return -1;
    }

    if (len > max) {
        validate_add(errs, prefix, name, "too_long",
                     "%s must be at most %zu bytes long (got %zu)", name, max,
                     len);
        return -1;
    }

    return 0;
}


static const validate_key_t *
validate_key_find(const char *name)
{
    size_t  i;

    for (i = 0; i < sizeof(validate_keys) / sizeof(validate_keys[0]); i++) {
        if (strcmp(validate_keys[i].name, name) == 0) {
            return &validate_keys[i];
        }
    }

    return NULL;
}


/* validate_settings, adding to errs */
static json_t *
validate_settings_in(const json_t *body, const char *prefix,
    validate_errs_t *errs)
{
    int                    plen;
    char                   quoted[VALIDATE_QUOTE_MAX];
    size_t                 start, before;
    json_t                *out, *v, *norm;
    const char            *key;
    const validate_key_t  *k;

    start = errs->n;

    if (!json_is_object(body)) {
        plen = (int) strlen(prefix);
        validate_add(errs, prefix, "", "type",
                     "%.*s must be a JSON object (got %s)",
                     plen > 0 ? plen - 1 : 16,
                     plen > 0 ? prefix : "the request body",
                     validate_type(body));
        return NULL;
    }

    out = json_object();
    if (out == NULL) {
        validate_add(errs, prefix, "", "internal", "out of memory");
        return NULL;
    }

    json_object_foreach((json_t *) body, key, v) {
        k = validate_key_find(key);

        if (k == NULL) {
            validate_copy(quoted, sizeof(quoted), key);
            validate_add(errs, prefix, key, "unknown_field",
                         "unknown setting \"%s\"; the settings are "
                         VALIDATE_SETTINGS_LIST, quoted);
            continue;
        }

        before = errs->n;
        norm = k->check(v, prefix, k->name, errs);

        if ((norm == NULL && errs->n == before)
            || (norm != NULL && json_object_set_new(out, k->name, norm) != 0))
        {
            validate_add(errs, prefix, k->name, "internal", "out of memory");
        }
    }

    if (errs->n > start) {
        json_decref(out);
        return NULL;
    }

    return out;
}


static json_t *
validate_bool(const json_t *v, const char *prefix, const char *name,
    validate_errs_t *errs)
{
    if (!json_is_boolean(v)) {
        validate_add(errs, prefix, name, "type",
                     "%s must be true or false (got %s)", name,
                     validate_type(v));
        return NULL;
    }

    return json_boolean(json_is_true(v));
}


static json_t *
validate_frequency(const json_t *v, const char *prefix, const char *name,
    validate_errs_t *errs)
{
    json_int_t  n;

    if (!json_is_integer(v)) {
        validate_add(errs, prefix, name, "type",
                     "%s must be an integer from %d to %d (got %s)", name,
                     VALIDATE_FREQ_MIN, VALIDATE_FREQ_MAX, validate_type(v));
        return NULL;
    }

    n = json_integer_value(v);

    if (n < VALIDATE_FREQ_MIN || n > VALIDATE_FREQ_MAX) {
        validate_add(errs, prefix, name, "range",
                     "%s must be an integer from %d to %d (got %"
                     JSON_INTEGER_FORMAT ")", name, VALIDATE_FREQ_MIN,
                     VALIDATE_FREQ_MAX, n);
        return NULL;
    }

    return json_integer(n);
}


/* [A-Za-z0-9][A-Za-z0-9_/.-]{0,63} */
static json_t *
validate_series(const json_t *v, const char *prefix, const char *name,
    validate_errs_t *errs)
{
    size_t       i, len;
    const char  *s;

    if (validate_length(v, prefix, name, VALIDATE_SERIES_MAX, errs) != 0) {
        return NULL;
    }

    s = json_string_value(v);
    len = json_string_length(v);

    i = validate_series_name(s, len);
    if (i != 0) {
        validate_add(errs, prefix, name, "pattern",
                     "%s must start with an ASCII letter or digit and "
                     "hold only ASCII letters, digits, '_', '/', '.' and "
                     "'-' (byte %zu is not allowed)", name, i);
        return NULL;
    }

    return json_stringn(s, len);
}


size_t
validate_series_name(const char *s, size_t len)
{
    int     c;
    size_t  i;

    if (len == 0 || len > VALIDATE_SERIES_MAX) {
        return len + 1;
    }

    for (i = 0; i < len; i++) {
        c = (unsigned char) s[i];

        if (!validate_is_alnum(c)
            && (i == 0 || (c != '_' && c != '/' && c != '.' && c != '-')))
        {
            return i + 1;
        }
    }

    return 0;
}


static json_t *
validate_vat(const json_t *v, const char *prefix, const char *name,
    validate_errs_t *errs)
{
    char        buf[32];
    size_t      i, len;
    const char *s;

    if (json_is_integer(v)) {
        (void) snprintf(buf, sizeof(buf), "%" JSON_INTEGER_FORMAT,
                        json_integer_value(v));
        s = buf;
        len = strlen(buf);

    } else if (json_is_string(v)) {
        s = json_string_value(v);
        len = json_string_length(v);

    } else {
        validate_add(errs, prefix, name, "type",
                     "%s must be a string or an integer, one of "
                     VALIDATE_VAT_LIST " (got %s)", name, validate_type(v));
        return NULL;
    }

    for (i = 0; i < sizeof(validate_vat_rates) / sizeof(char *); i++) {
        if (len == strlen(validate_vat_rates[i])
            && memcmp(s, validate_vat_rates[i], len) == 0)
        {
            return json_string(validate_vat_rates[i]);
        }
    }

    if (s == buf) {
        validate_add(errs, prefix, name, "enum",
                     "%s must be one of " VALIDATE_VAT_LIST " (got %s)",
                     name, buf);
    } else {
        validate_add(errs, prefix, name, "enum",
                     "%s must be one of " VALIDATE_VAT_LIST, name);
    }

    return NULL;
}


static json_t *
validate_mappings(const json_t *v, const char *prefix, const char *name,
    validate_errs_t *errs)
{
    char         sub[128];
    size_t       before;
    json_t      *out, *value;
    const char  *key;

    if (!json_is_object(v)) {
        validate_add(errs, prefix, name, "type",
                     "%s must be an object of names to strings (got %s)",
                     name, validate_type(v));
        return NULL;
    }

    if (json_object_size(v) > VALIDATE_MAPPINGS_MAX) {
        validate_add(errs, prefix, name, "too_long",
                     "%s must have at most %d members (got %zu)", name,
                     VALIDATE_MAPPINGS_MAX, json_object_size(v));
        return NULL;
    }

    out = json_object();
    if (out == NULL) {
        return NULL;
    }

    (void) snprintf(sub, sizeof(sub), "%s%s.", prefix, name);
    before = errs->n;

    json_object_foreach((json_t *) v, key, value) {
        validate_mapping(key, value, sub, out, errs);
    }

    if (errs->n > before) {
        json_decref(out);
        return NULL;
    }

    return out;
}


/* one member of fieldMappings, added to out when valid */
static void
validate_mapping(const char *key, const json_t *v, const char *prefix,
    json_t *out, validate_errs_t *errs)
{
    int     ok;
    char    quoted[VALIDATE_QUOTE_MAX];
    size_t  i, len;

    validate_copy(quoted, sizeof(quoted), key);
    len = strlen(key);

    ok = len >= 1 && len <= VALIDATE_MAP_KEY_MAX
         && ((key[0] >= 'A' && key[0] <= 'Z')
             || (key[0] >= 'a' && key[0] <= 'z'));

    for (i = 1; ok && i < len; i++) {
        ok = validate_is_alnum((unsigned char) key[i]) || key[i] == '_'
             || key[i] == '.';
    }

    if (!ok) {
        validate_add(errs, prefix, key, "pattern",
                     "the mapped name \"%s\" must be 1 to %d bytes: an "
                     "ASCII letter, then ASCII letters, digits, '_' or '.'",
                     quoted, VALIDATE_MAP_KEY_MAX);
    }

    if (!json_is_string(v)) {
        validate_add(errs, prefix, key, "type",
                     "the mapping of \"%s\" must be a string (got %s)",
                     quoted, validate_type(v));
        return;
    }

    len = json_string_length(v);

    if (len == 0 || len > VALIDATE_MAP_VALUE_MAX) {
        validate_add(errs, prefix, key, len == 0 ? "too_short" : "too_long",
                     "the mapping of \"%s\" must be 1 to %d bytes long "
                     "(got %zu)", quoted, VALIDATE_MAP_VALUE_MAX, len);
        return;
    }

    if (ok && json_object_set_new(out, key,
                                  json_stringn(json_string_value(v), len))
              != 0)
    {
        validate_add(errs, prefix, key, "internal", "out of memory");
    }
}


static const provider_t *
validate_provider(const json_t *body, validate_errs_t *errs)
{
    char               list[160], quoted[VALIDATE_QUOTE_MAX];
    size_t             i, n, len;
    json_t            *v;
    const provider_t  *all, *p;

    all = providers_all(&n);
    for (i = 0, len = 0; i < n && len < sizeof(list); i++) {
        len += (size_t) snprintf(list + len, sizeof(list) - len, "%s%s",
                                 i == 0 ? "" : ", ", all[i].name);
    }

    v = json_object_get(body, "provider");

    if (v == NULL) {
        validate_add(errs, "", "provider", "required",
                     "provider is required, one of %s", list);
        return NULL;
    }

    if (!json_is_string(v)) {
        validate_add(errs, "", "provider", "type",
                     "provider must be a string, one of %s (got %s)", list,
                     validate_type(v));
        return NULL;
    }

    p = provider_find(json_string_value(v));

    if (p == NULL || json_string_length(v) != strlen(p->name)) {
        validate_copy(quoted, sizeof(quoted), json_string_value(v));
        validate_add(errs, "", "provider", "unknown_provider",
                     "unknown provider \"%s\"; the providers are %s", quoted,
                     list);
        return NULL;
    }

    return p;
}


static void
validate_display_name(const json_t *body, validate_create_t *c,
    validate_errs_t *errs)
{
    size_t       i, n, len;
    json_t      *v;
    uint32_t     cp;
    const char  *s;

    v = json_object_get(body, "display_name");

    if (v == NULL
        || validate_length(v, "", "display_name", VALIDATE_NAME_MAX, errs)
           != 0)
    {
        return;
    }

    s = json_string_value(v);
    len = json_string_length(v);

    for (i = 0; i < len; i += n) {
        n = validate_utf8_next((const unsigned char *) s + i, len - i, &cp);

        if (n == 0) {
            validate_add(errs, "", "display_name", "pattern",
                         "display_name must be valid UTF-8 (byte %zu is not)",
                         i + 1);
            return;
        }

        if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f)) {
            validate_add(errs, "", "display_name", "pattern",
                         "display_name must not hold control characters "
                         "(byte %zu is one)", i + 1);
            return;
        }
    }

    c->display_name = s;
}


/*
 * Sets c->auth to the mode asked for, or to the provider's default; leaves
 * it 0 when the mode is unknown or unsupported (errors added).
 */
static void
validate_auth(const json_t *body, validate_create_t *c,
    validate_errs_t *errs)
{
    json_t      *v;
    unsigned     mode;
    const char  *s;

    v = json_object_get(body, "auth");

    if (v == NULL) {
        if (c->provider != NULL) {
            c->auth = (c->provider->auth & PROVIDER_AUTH_OAUTH)
                      ? PROVIDER_AUTH_OAUTH : PROVIDER_AUTH_API_KEY;
        }
        return;
    }

    s = json_string_value(v);

    if (s == NULL) {
        validate_add(errs, "", "auth", "type",
                     "auth must be \"oauth\" or \"api_key\" (got %s)",
                     validate_type(v));
        return;
    }

    if (json_string_length(v) == 5 && strcmp(s, "oauth") == 0) {
        mode = PROVIDER_AUTH_OAUTH;

    } else if (json_string_length(v) == 7 && strcmp(s, "api_key") == 0) {
        mode = PROVIDER_AUTH_API_KEY;

    } else {
        validate_add(errs, "", "auth", "enum",
                     "auth must be \"oauth\" or \"api_key\"");
        return;
    }

    if (c->provider != NULL && !(c->provider->auth & mode)) {
        validate_add(errs, "", "auth", "unsupported_auth",
                     "%s does not support %s; it supports %s only",
                     c->provider->name, s,
                     mode == PROVIDER_AUTH_OAUTH ? "api_key" : "oauth");
        return;
    }

    c->auth = mode;
}


static void
validate_api_key(const json_t *body, validate_create_t *c,
    validate_errs_t *errs)
{
    char     why[PROVIDER_WHY_MAX];
    json_t  *v;

    v = json_object_get(body, "api_key");

    if (v == NULL) {
        if (c->auth == PROVIDER_AUTH_API_KEY) {
            validate_add(errs, "", "api_key", "required",
                         "api_key is required when auth is \"api_key\"");
        }
        return;
    }

    if (!json_is_string(v)) {
        validate_add(errs, "", "api_key", "type",
                     "api_key must be a string (got %s)", validate_type(v));
        return;
    }

    if (c->auth == PROVIDER_AUTH_OAUTH) {
        if (json_object_get(body, "auth") == NULL) {
            validate_add(errs, "", "api_key", "not_allowed",
                         "api_key is accepted only when auth is "
                         "\"api_key\"; auth defaults to \"oauth\" for %s",
                         c->provider->name);
        } else {
            validate_add(errs, "", "api_key", "not_allowed",
                         "api_key is accepted only when auth is "
                         "\"api_key\"");
        }
        return;
    }

    if (c->auth != PROVIDER_AUTH_API_KEY) {
        return;                     /* provider or auth already refused */
    }

    if (provider_check_api_key(c->provider, json_string_value(v),
                               json_string_length(v), why, sizeof(why))
        != 0)
    {
        validate_add(errs, "", "api_key", "pattern", "%s", why);
        return;
    }

    c->api_key = json_string_value(v);
    c->api_key_len = json_string_length(v);
}
