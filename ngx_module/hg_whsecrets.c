
/*
 * hubgate: hubgated's answer to secret_request (hg_whsecrets.h).
 */

#include <string.h>

#include <jansson.h>

#include "hg_whsecrets.h"


const char *
hg_whsecrets_parse(const char *data, size_t len,
    int (*add)(void *ctx, const char *secret, size_t len), void *ctx)
{
    size_t       i, n, slen;
    json_t      *root, *arr, *v;
    const char  *why, *s;

    if (data == NULL && len != 0) {
        return "no answer";
    }

    root = json_loadb(data ? data : "", len,
                      JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, NULL);
    arr = json_is_object(root) ? json_object_get(root, "secrets") : NULL;

    if (!json_is_array(arr)) {
        json_decref(root);
        return "not {\"secrets\": [...]}";
    }

    n = json_array_size(arr);

    if (n > HG_WHSECRETS_MAX) {
        json_decref(root);
        return "more than 16 secrets";
    }

    why = NULL;

    for (i = 0; i < n && why == NULL; i++) {
        v = json_array_get(arr, i);
        s = json_is_string(v) ? json_string_value(v) : NULL;
        slen = s ? json_string_length(v) : 0;

        if (slen == 0 || slen > HG_WHSECRETS_LEN_MAX
            || memchr(s, '\0', slen) != NULL)
        {
            why = "a secret that is not a string of 1 to 1024 bytes";

        } else if (add(ctx, s, slen) != 0) {
            why = "out of memory";
        }
    }

    json_decref(root);

    return why;
}
